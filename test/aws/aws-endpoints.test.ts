/**
 * GetCallerIdentity and DescribeCluster against a local HTTPS stand-in (endpoint override): the answers a release
 * meets in real life (expired token, AccessDenied, throttling that outlasts the SDK's retries, an unknown cluster)
 * each end in one clear line, with the exit code's meaning: 2 refused (fix the credentials or settings), 1 failed.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeEksCluster } from "#src/aws/eks-cluster.ts";
import { callerIdentity } from "#src/aws/identity.ts";
import { FailedError, UsageError } from "#src/errors.ts";
import { CLUSTER, CLUSTER_ARN, eksError, PRINCIPAL, REGION, startStandIn, stsError, type StandIn } from "./support/aws-stand-in.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const credentials = async () => ({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET, sessionToken: "session-token-EXAMPLE" });

let aws: StandIn;
beforeAll(async () => {
  aws = await startStandIn();
});
afterAll(() => aws.close());
beforeEach(() => {
  aws.requests.length = 0;
});

const opts = () => ({ region: REGION, credentials, endpoint: aws.url, requestHandler: { httpsAgent: aws.httpsAgent } });

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message.split("\n")).toHaveLength(1);
  expect(message).not.toContain(SECRET);
  expect(message).not.toContain("session-token-EXAMPLE");
  expect(message).not.toMatch(/\bat .*\.js:\d+/); // no stack
  return err as Error;
}

describe("sts:GetCallerIdentity", () => {
  it("returns the principal ARN, asking the stand-in (signed with the given credentials)", async () => {
    expect(await callerIdentity(opts())).toEqual({ arn: PRINCIPAL, account: "123456789012" });
    expect(aws.requests).toHaveLength(1);
    expect(aws.requests[0].body).toContain("Action=GetCallerIdentity");
    expect(aws.requests[0].authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/sts\/aws4_request/);
  });

  it("expired credentials: refused, and says to get fresh ones", async () => {
    aws.script("sts", stsError(400, "ExpiredToken", "The security token included in the request is expired"));
    const err = await failure(callerIdentity(opts()));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(
      /^reading who the AWS credentials belong to \(sts:GetCallerIdentity\) failed: the AWS credentials have expired \(ExpiredToken\); get fresh ones/,
    );
    expect(err.message).toMatch(/nothing was changed in the cluster$/);
  });

  it("AccessDenied: refused, naming the call", async () => {
    aws.script("sts", stsError(403, "AccessDenied", "User is not authorized to perform: sts:GetCallerIdentity"));
    const err = await failure(callerIdentity(opts()));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/sts:GetCallerIdentity\) was denied by AWS \(AccessDenied\)/);
  });

  it("unknown access key: refused", async () => {
    aws.script("sts", stsError(403, "InvalidClientTokenId", "The security token included in the request is invalid."));
    const err = await failure(callerIdentity(opts()));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain("AWS does not accept these credentials (InvalidClientTokenId)");
  });

  it("throttling is retried by the SDK, and succeeds when it stops", async () => {
    aws.script("sts", stsError(400, "Throttling", "Rate exceeded"));
    expect((await callerIdentity(opts())).arn).toBe(PRINCIPAL);
    expect(aws.requests).toHaveLength(2);
  });

  it("throttling that outlasts the retries: failed (exit 1), saying how often", async () => {
    aws.script("sts", ...Array.from({ length: 3 }, () => stsError(400, "Throttling", "Rate exceeded")));
    const err = await failure(callerIdentity({ ...opts(), maxAttempts: 3 }));
    expect(err).toBeInstanceOf(FailedError);
    expect(err.message).toMatch(/AWS throttled the request \(Throttling\) 3 times in a row; wait a minute and run again/);
    expect(aws.requests).toHaveLength(3);
  });
});

describe("eks:DescribeCluster", () => {
  it("returns the endpoint, the CA and the ARN", async () => {
    const c = await describeEksCluster(CLUSTER, opts());
    expect(c).toEqual({ name: CLUSTER, arn: CLUSTER_ARN, endpoint: aws.url, caData: Buffer.from(aws.pki.ca).toString("base64") });
    expect(aws.requests[0]).toMatchObject({ method: "GET", path: `/clusters/${CLUSTER}` });
  });

  it("an unknown cluster: refused, pointing at the two settings", async () => {
    const err = await failure(describeEksCluster("nope", opts()));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(
      /^looking up EKS cluster nope in eu-west-1 \(eks:DescribeCluster\) failed: .*check --eks-cluster and --aws-region/,
    );
  });

  it("AccessDeniedException: refused, naming the permission", async () => {
    aws.script("eks", eksError(403, "AccessDeniedException", "not authorized"));
    const err = await failure(describeEksCluster(CLUSTER, opts()));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain("was denied by AWS (AccessDeniedException): the role needs eks:DescribeCluster");
  });

  it("expired credentials: refused", async () => {
    aws.script("eks", eksError(403, "ExpiredTokenException", "The security token included in the request is expired"));
    const err = await failure(describeEksCluster(CLUSTER, opts()));
    expect(err.message).toContain("the AWS credentials have expired (ExpiredTokenException)");
  });

  it("throttling that outlasts the retries: failed", async () => {
    aws.script("eks", ...Array.from({ length: 2 }, () => eksError(429, "ThrottlingException", "Rate exceeded")));
    const err = await failure(describeEksCluster(CLUSTER, { ...opts(), maxAttempts: 2 }));
    expect(err).toBeInstanceOf(FailedError);
    expect(err.message).toContain("AWS throttled the request (ThrottlingException) 2 times in a row");
  });
});
