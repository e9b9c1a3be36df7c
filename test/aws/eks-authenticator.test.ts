/**
 * The token is refreshed before its 15 minutes run out, proven with a fake clock: a 40-minute release never sends a
 * token older than 10 minutes, concurrent requests share one token, and the token reaches the API server through
 * @kubernetes/client-node's authenticator (not an exec kubeconfig entry) against a local HTTPS stand-in.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EKS_USER, EksTokenAuthenticator, REFRESH_AFTER_MS } from "#src/aws/eks-authenticator.ts";
import { connectEks } from "#src/aws/eks-kubeconfig.ts";
import { TOKEN_LIFETIME_MS } from "#src/aws/eks-token.ts";
import { kubeFromConfig } from "#src/kube/client.ts";
import { CLUSTER, CLUSTER_ARN, PRINCIPAL, REGION, startStandIn, type StandIn } from "./support/aws-stand-in.ts";
import { tokenUrl } from "./support/sigv4.ts";

const credentials = async () => ({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" });

function fakeClock(start = Date.parse("2026-03-14T15:00:00Z")) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

/** When a token was signed, read from the token itself (its X-Amz-Date). */
function signedAt(token: string): number {
  const d = tokenUrl(token).searchParams.get("X-Amz-Date")!;
  return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
}

describe("EksTokenAuthenticator with a fake clock", () => {
  it("keeps a token for 10 minutes, then mints a new one signed at the new time", async () => {
    const clock = fakeClock();
    const auth = new EksTokenAuthenticator({ cluster: CLUSTER, region: REGION, credentials, now: clock.now });
    const first = await auth.token();
    clock.advance(REFRESH_AFTER_MS - 1000);
    expect(await auth.token()).toBe(first);
    clock.advance(1000);
    const second = await auth.token();
    expect(second).not.toBe(first);
    expect(signedAt(second) - signedAt(first)).toBe(REFRESH_AFTER_MS);
    expect(auth.minted).toBe(2);
  });

  it("over a 40-minute release, every request carries a token well inside its 15 minutes", async () => {
    const clock = fakeClock();
    const auth = new EksTokenAuthenticator({ cluster: CLUSTER, region: REGION, credentials, now: clock.now });
    let oldest = 0;
    for (let t = 0; t <= 40 * 60_000; t += 7_000) {
      const token = await auth.token();
      oldest = Math.max(oldest, clock.now().getTime() - signedAt(token));
      clock.advance(7_000);
    }
    expect(oldest).toBeLessThan(REFRESH_AFTER_MS + 7_000);
    expect(oldest).toBeLessThan(TOKEN_LIFETIME_MS);
    expect(auth.minted).toBe(4); // at 0:00, 10:02, 20:04 and 30:06 (requests on a 7 s grid)
  });

  it("mints once for concurrent requests", async () => {
    const clock = fakeClock();
    const auth = new EksTokenAuthenticator({ cluster: CLUSTER, region: REGION, credentials, now: clock.now });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => auth.token()));
    expect(new Set(tokens).size).toBe(1);
    expect(auth.minted).toBe(1);
  });

  it("answers only for its own kubeconfig user and sets the bearer header", async () => {
    const auth = new EksTokenAuthenticator({ cluster: CLUSTER, region: REGION, credentials });
    expect(auth.isAuthProvider({ name: EKS_USER } as never)).toBe(true);
    expect(auth.isAuthProvider({ name: "someone-else" } as never)).toBe(false);
    const opts: { headers?: Record<string, unknown> } = { headers: { Accept: "application/json" } };
    await auth.applyAuthentication({ name: EKS_USER } as never, opts);
    expect(opts.headers).toMatchObject({
      Accept: "application/json",
      Authorization: expect.stringMatching(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/),
    });
  });
});

describe("through @kubernetes/client-node, against local stand-ins for STS, EKS and the API server", () => {
  let aws: StandIn;
  beforeAll(async () => {
    aws = await startStandIn();
  });
  afterAll(() => aws.close());

  it("checks the principal, finds endpoint and CA, and sends a fresh token after 10 minutes", async () => {
    const clock = fakeClock();
    const stub = { endpoint: aws.url, requestHandler: { httpsAgent: aws.httpsAgent } };
    const eks = await connectEks({ cluster: CLUSTER, region: REGION, credentials, sts: stub, eks: stub, now: clock.now });
    expect(eks.identity.arn).toBe(PRINCIPAL);
    expect(eks.cluster).toMatchObject({ arn: CLUSTER_ARN, endpoint: aws.url });
    expect(eks.kc.getCurrentCluster()?.server).toBe(aws.url);
    expect(eks.kc.getCurrentUser()).toMatchObject({ name: EKS_USER });
    // No exec entry: the token comes from the authenticator, in process.
    expect(eks.kc.getCurrentUser()?.exec).toBeUndefined();

    const kube = kubeFromConfig(eks.kc, { retry: false });
    await kube.core.readNamespace({ name: "production" });
    clock.advance(REFRESH_AFTER_MS);
    await kube.core.readNamespace({ name: "production" });
    const sent = aws.requests.filter((r) => r.service === "kube").map((r) => r.authorization ?? "");
    expect(sent).toHaveLength(2);
    for (const a of sent) expect(a).toMatch(/^Bearer k8s-aws-v1\./);
    expect(sent[0]).not.toBe(sent[1]);
    expect(signedAt(sent[1].slice("Bearer ".length)) - signedAt(sent[0].slice("Bearer ".length))).toBe(REFRESH_AFTER_MS);
    // The CA came from DescribeCluster: the TLS handshake with the stand-in's test-CA certificate succeeded.
    expect(eks.kc.getCurrentCluster()?.caData).toBe(Buffer.from(aws.pki.ca).toString("base64"));
  });
});
