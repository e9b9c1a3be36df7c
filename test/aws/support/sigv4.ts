/**
 * An independent SigV4 check for a presigned GET (query-string auth), written from AWS's published algorithm with
 * node:crypto alone: nothing from @smithy or the product's code. Used to prove the EKS token is signed correctly.
 * Outside S3, a presigned request signs the hash of its (empty) payload, not UNSIGNED-PAYLOAD.
 */
import { createHash, createHmac } from "node:crypto";

const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key: Buffer | string, s: string) => createHmac("sha256", key).update(s, "utf8").digest();

/** The signature AWS would compute for this presigned URL, given the signed headers' values and the secret key. */
export function expectedSignature(url: URL, headers: Record<string, string>, secretAccessKey: string): string {
  const q = [...url.searchParams.entries()].filter(([k]) => k !== "X-Amz-Signature");
  const canonicalQuery = q
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const signedHeaders = url.searchParams.get("X-Amz-SignedHeaders")!.split(";");
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${headers[h].trim()}\n`).join("");
  const canonicalRequest = ["GET", url.pathname || "/", canonicalQuery, canonicalHeaders, signedHeaders.join(";"), sha256("")].join("\n");
  const date = url.searchParams.get("X-Amz-Date")!;
  const [, day, region, service] = url.searchParams.get("X-Amz-Credential")!.split("/");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256(canonicalRequest)].join("\n");
  const kDate = hmac(`AWS4${secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, region), service), "aws4_request");
  return createHmac("sha256", kSigning).update(stringToSign, "utf8").digest("hex");
}

/** The presigned URL inside an EKS token ("k8s-aws-v1." + unpadded base64url). */
export function tokenUrl(token: string): URL {
  return new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8"));
}
