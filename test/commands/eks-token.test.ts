/**
 * `release-gate eks-token` through the real bin: an ExecCredential like `aws eks get-token`'s, whose token verifies
 * independently; without credentials or region, exit 2, one line, and no token printed. Nothing is sent anywhere.
 */
import { describe, expect, it } from "vitest";
import { releaseGate } from "../support/run-cli.ts";
import { expectedSignature, tokenUrl } from "../aws/support/sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
// HOME points nowhere, so no developer's ~/.aws profile is found; metadata is off: the chain has nothing else.
const NO_AWS = {
  AWS_EC2_METADATA_DISABLED: "true",
  HOME: "/nonexistent",
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
};

describe("release-gate eks-token", () => {
  it("prints an ExecCredential with a valid token from the environment's credentials", async () => {
    const r = await releaseGate(["eks-token", "--cluster", "qualisys-prod", "--region", "eu-west-1"], {
      ...NO_AWS,
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: "session-EXAMPLE",
    });
    expect(r.code, r.stderr).toBe(0);
    const cred = JSON.parse(r.stdout);
    expect(cred).toMatchObject({ kind: "ExecCredential", apiVersion: "client.authentication.k8s.io/v1beta1", spec: {} });
    expect(cred.status.expirationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const url = tokenUrl(cred.status.token);
    expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe("session-EXAMPLE");
    const headers = { host: url.host, "x-k8s-aws-id": "qualisys-prod" };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(expectedSignature(url, headers, SECRET));
    // Reported expiry: 14 minutes after signing.
    const d = url.searchParams.get("X-Amz-Date")!;
    const signed = Date.parse(
      `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
    );
    expect(Date.parse(cred.status.expirationTimestamp) - signed).toBe(14 * 60_000);
    expect(r.stderr).toBe("");
  });

  it("takes the region from AWS_REGION", async () => {
    const r = await releaseGate(["eks-token", "--cluster", "c"], {
      ...NO_AWS,
      AWS_REGION: "us-east-2",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: SECRET,
    });
    expect(r.code).toBe(0);
    expect(tokenUrl(JSON.parse(r.stdout).status.token).host).toBe("sts.us-east-2.amazonaws.com");
  });

  it.each([
    ["no credentials", ["--cluster", "c", "--region", "eu-west-1"], {}, /no AWS credentials found/],
    [
      "no region",
      ["--cluster", "c"],
      { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
      /needs the cluster's region: pass --region or set AWS_REGION/,
    ],
    [
      "an ARN for --cluster",
      ["--cluster", "arn:aws:eks:eu-west-1:123456789012:cluster/c", "--region", "eu-west-1"],
      { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
      /takes the EKS cluster's name/,
    ],
  ])("%s: exit 2, one line, no token", async (_what, args, env, message) => {
    const r = await releaseGate(["eks-token", ...args], { ...NO_AWS, ...env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("k8s-aws-v1.");
  });
});
