/**
 * The EKS bearer token, as aws-iam-authenticator and `aws eks get-token` make it: a presigned STS GetCallerIdentity
 * URL for the regional endpoint with the header `x-k8s-aws-id: <cluster>` signed, as `k8s-aws-v1.` + unpadded
 * base64url. No request is sent: the API server sends it to STS to learn who we are. It is valid 15 minutes from its
 * X-Amz-Date; callers refresh it well before (eks-authenticator.ts).
 */
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "./credentials.ts";

export const TOKEN_PREFIX = "k8s-aws-v1.";
/** How long the API server accepts the token after its X-Amz-Date (fixed by aws-iam-authenticator). */
export const TOKEN_LIFETIME_MS = 15 * 60_000;
/** What ExecCredential reports: a minute short of the real expiry, as aws-iam-authenticator does. */
export const REPORTED_LIFETIME_MS = 14 * 60_000;
/** X-Amz-Expires: aws-iam-authenticator's value; the server ignores it (it allows 0..900) and applies 15 minutes. */
const PRESIGN_EXPIRES_S = 60;

export interface EksToken {
  token: string;
  /** When the token was signed (its X-Amz-Date). */
  issuedAt: Date;
  /** issuedAt + 14 min: what ExecCredential's expirationTimestamp says. */
  expiresAt: Date;
}

/** sts.REGION.amazonaws.com, or .amazonaws.com.cn in the China partition: the host aws-iam-authenticator accepts. */
export function stsRegionalHost(region: string): string {
  return `sts.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

export async function eksToken(o: {
  cluster: string;
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  now?: () => Date;
}): Promise<EksToken> {
  const issuedAt = new Date(Math.floor((o.now ?? (() => new Date()))().getTime() / 1000) * 1000);
  const host = stsRegionalHost(o.region);
  const signer = new SignatureV4({ credentials: o.credentials, region: o.region, service: "sts", sha256: Hash.bind(null, "sha256") });
  const signed = await signer.presign(
    new HttpRequest({
      method: "GET",
      protocol: "https:",
      hostname: host,
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      // Signed, and kept a header (the presigner moves only x-amz-* headers into the query): the API server
      // sends it along to STS, so the token is only good for this cluster.
      headers: { host, "x-k8s-aws-id": o.cluster },
    }),
    { expiresIn: PRESIGN_EXPIRES_S, signingDate: issuedAt },
  );
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {})) if (typeof v === "string") query.set(k, v);
  const url = `https://${host}/?${query.toString()}`;
  return {
    token: TOKEN_PREFIX + Buffer.from(url).toString("base64url"),
    issuedAt,
    expiresAt: new Date(issuedAt.getTime() + REPORTED_LIFETIME_MS),
  };
}
