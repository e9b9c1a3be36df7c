/**
 * The EKS bearer token: its SigV4 signature recomputed independently (node:crypto, AWS's published algorithm) with
 * known static credentials, and the rules aws-iam-authenticator's verifier applies (pkg/token/token.go): only its
 * allowed query parameters, x-k8s-aws-id among the signed headers, the regional STS host, unpadded base64url,
 * at most 4 KiB, X-Amz-Expires within 0..900, and a session token exactly when one was given.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
import { describe, expect, it } from "vitest";
import { eksToken, REPORTED_LIFETIME_MS, stsRegionalHost, TOKEN_PREFIX } from "#src/aws/eks-token.ts";
import { expectedSignature, tokenUrl } from "./support/sigv4.ts";

// AWS's documentation example keys: static, well known, never valid anywhere.
const STATIC = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const SESSION = { ...STATIC, sessionToken: "FQoGZXIvYXdzEXAMPLE//session+token=" };
const AT = new Date("2026-03-14T15:09:26.535Z");

/** aws-iam-authenticator's allowed query parameters (parameterWhitelist). */
const ALLOWED = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

async function token(credentials: typeof STATIC | typeof SESSION, cluster = "qualisys-prod", region = "eu-west-1") {
  return eksToken({ cluster, region, credentials, now: () => AT });
}

describe("the EKS token's signature, recomputed independently", () => {
  it("matches SigV4 over host and x-k8s-aws-id with the static credentials", async () => {
    const t = await token(STATIC);
    const url = tokenUrl(t.token);
    const headers = { host: "sts.eu-west-1.amazonaws.com", "x-k8s-aws-id": "qualisys-prod" };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(expectedSignature(url, headers, STATIC.secretAccessKey));
    expect(url.searchParams.get("X-Amz-Date")).toBe("20260314T150926Z");
    expect(url.searchParams.get("X-Amz-Credential")).toBe("AKIDEXAMPLE/20260314/eu-west-1/sts/aws4_request");
  });

  it("binds the token to its cluster and key: another cluster name or secret gives another signature", async () => {
    const url = tokenUrl((await token(STATIC)).token);
    const signature = url.searchParams.get("X-Amz-Signature");
    expect(
      expectedSignature(url, { host: "sts.eu-west-1.amazonaws.com", "x-k8s-aws-id": "other-cluster" }, STATIC.secretAccessKey),
    ).not.toBe(signature);
    expect(expectedSignature(url, { host: "sts.eu-west-1.amazonaws.com", "x-k8s-aws-id": "qualisys-prod" }, "another-secret")).not.toBe(
      signature,
    );
  });

  it("signs the session token too", async () => {
    const url = tokenUrl((await token(SESSION)).token);
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe(SESSION.sessionToken);
    const headers = { host: "sts.eu-west-1.amazonaws.com", "x-k8s-aws-id": "qualisys-prod" };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(expectedSignature(url, headers, SESSION.secretAccessKey));
  });
});

describe("aws-iam-authenticator's rules", () => {
  it.each([
    ["static keys", STATIC],
    ["a session", SESSION],
  ])(
    "with %s: prefix, no padding, ≤ 4 KiB, allowed parameters only, x-k8s-aws-id signed, regional host, expiry ≤ 900",
    async (_what, creds) => {
      const { token: t } = await token(creds);
      expect(t.startsWith(TOKEN_PREFIX)).toBe(true);
      const encoded = t.slice(TOKEN_PREFIX.length);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no '=' padding
      expect(t.length).toBeLessThanOrEqual(4096);
      const url = tokenUrl(t);
      expect(url.protocol).toBe("https:");
      expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
      expect(url.pathname).toBe("/");
      for (const key of url.searchParams.keys()) expect(ALLOWED, key).toContain(key.toLowerCase());
      expect(url.searchParams.get("Action")).toBe("GetCallerIdentity");
      expect(url.searchParams.get("Version")).toBe("2011-06-15");
      expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
      expect(url.searchParams.get("X-Amz-SignedHeaders")!.split(";")).toEqual(expect.arrayContaining(["host", "x-k8s-aws-id"]));
      const expires = Number(url.searchParams.get("X-Amz-Expires"));
      expect(expires).toBeGreaterThanOrEqual(0);
      expect(expires).toBeLessThanOrEqual(900);
      // The session token is there exactly when one was given.
      expect(url.searchParams.has("X-Amz-Security-Token")).toBe("sessionToken" in creds);
    },
  );

  it("uses the cluster's own region, and the China partition's host there", async () => {
    expect(tokenUrl((await token(STATIC, "c", "us-east-2")).token).host).toBe("sts.us-east-2.amazonaws.com");
    expect(stsRegionalHost("cn-north-1")).toBe("sts.cn-north-1.amazonaws.com.cn");
  });

  it("reports expiry 14 minutes after signing, a minute inside the 15 the server allows", async () => {
    const t = await token(STATIC);
    expect(t.issuedAt.toISOString()).toBe("2026-03-14T15:09:26.000Z");
    expect(t.expiresAt.getTime() - t.issuedAt.getTime()).toBe(REPORTED_LIFETIME_MS);
  });
});
