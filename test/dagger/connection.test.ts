/**
 * The module's connection settings are checked before anything runs (missing or conflicting: one line, exit 2), and
 * a failed CLI run becomes an error `dagger call` reports with the CLI's own verdict and exit code.
 */
import { describe, expect, it } from "vitest";
import { clusterArgs, connectionProblem, type ConnectionSettings } from "#src/dagger/connection.ts";
import { failureOf, refusal } from "#src/dagger/failure.ts";

const none: ConnectionSettings = {
  kubeconfig: false,
  kubeApi: false,
  awsAccessKeyId: false,
  awsSecretAccessKey: false,
  awsSessionToken: false,
  awsWebIdentityToken: false,
};
const keys = { awsAccessKeyId: true, awsSecretAccessKey: true, awsSessionToken: true };
const eks = { ...none, eksCluster: "qualisys-prod", awsRegion: "eu-west-1" };

describe("connectionProblem", () => {
  it.each([
    ["a kubeconfig", { ...none, kubeconfig: true }],
    ["a kubeconfig and a context", { ...none, kubeconfig: true, context: "prod" }],
    ["kind through a host service", { ...none, kubeconfig: true, kubeApi: true, tlsServerName: "localhost" }],
    ["EKS with keys", { ...eks, ...keys }],
    ["EKS with long-lived keys (no session token)", { ...eks, awsAccessKeyId: true, awsSecretAccessKey: true }],
    ["EKS with a role and an OIDC token", { ...eks, awsRoleArn: "arn:aws:iam::1:role/r", awsWebIdentityToken: true }],
  ])("accepts %s", (_what, s) => {
    expect(connectionProblem(s, true)).toBeUndefined();
  });

  it.each([
    ["nothing, for a function that needs a cluster", none, /^no cluster: pass --kubeconfig=file:\/\/PATH/],
    ["a kubeconfig and an EKS cluster", { ...eks, ...keys, kubeconfig: true }, /two ways to reach the cluster/],
    ["EKS without a region", { ...none, eksCluster: "c", ...keys }, /--eks-cluster needs --aws-region/],
    ["EKS without credentials", eks, /--eks-cluster needs AWS credentials: --aws-access-key-id=env:\/\/AWS_ACCESS_KEY_ID/],
    ["EKS with keys and a role", { ...eks, ...keys, awsRoleArn: "r", awsWebIdentityToken: true }, /pass AWS credentials one way/],
    ["a key id without its secret", { ...eks, awsAccessKeyId: true }, /go together/],
    ["a session token alone", { ...eks, awsSessionToken: true }, /go together/],
    ["a role without a token", { ...eks, awsRoleArn: "r" }, /--aws-role-arn and --aws-web-identity-token go together/],
    ["an ARN as the cluster name", { ...eks, ...keys, eksCluster: "arn:aws:eks:eu-west-1:1:cluster/c" }, /not the ARN/],
    ["EKS with --kube-api", { ...eks, ...keys, kubeApi: true }, /do not apply to --eks-cluster/],
    ["EKS with --context", { ...eks, ...keys, context: "x" }, /does not apply to --eks-cluster/],
    ["AWS credentials without EKS", { ...none, kubeconfig: true, ...keys }, /only apply with --eks-cluster/],
    ["--tls-server-name without --kube-api", { ...none, kubeconfig: true, tlsServerName: "localhost" }, /only applies with --kube-api/],
    ["--kube-api without a kubeconfig", { ...none, kubeApi: true }, /--kube-api needs --kubeconfig/],
    ["--context without a kubeconfig", { ...none, context: "x" }, /--context needs --kubeconfig/],
  ])("refuses %s in one line", (_what, s, message) => {
    const p = connectionProblem(s, true);
    expect(p).toMatch(message);
    expect(p!.split("\n")).toHaveLength(1);
  });

  it("plan and smoke need no cluster, but conflicting settings are still refused", () => {
    expect(connectionProblem(none, false)).toBeUndefined();
    expect(connectionProblem({ ...none, kubeApi: true }, false)).toMatch(/--kube-api needs --kubeconfig/);
  });

  it("passes context and EKS settings to the CLI as options, and nothing secret", () => {
    expect(clusterArgs({ ...none, kubeconfig: true, context: "prod" })).toEqual(["--context", "prod"]);
    expect(clusterArgs({ ...eks, ...keys })).toEqual(["--eks-cluster", "qualisys-prod", "--aws-region", "eu-west-1"]);
  });
});

describe("failureOf: what dagger call reports for a failed CLI run", () => {
  it("the CLI's verdict line as the message, its exit code and output in the EXEC_ERROR extensions", () => {
    const stderr = [
      "12:00:01 canary 10%: weight 10 verified",
      "release-gate: deploy 1.4.2 rolled back: canary 10%: smoke check user-me failed (HTTP 500); " +
        "weight 0 verified, canary scaled to 0; production runs 1.4.1 on stable",
    ].join("\n");
    const f = failureOf("deploy", { exitCode: 1, stdout: "## release-gate deploy `1.4.2` …", stderr });
    expect(f.message).toBe(
      "release-gate deploy: deploy 1.4.2 rolled back: canary 10%: smoke check user-me failed (HTTP 500); " +
        "weight 0 verified, canary scaled to 0; production runs 1.4.1 on stable",
    );
    expect(f.extensions).toEqual({ _type: "EXEC_ERROR", exitCode: 1, stdout: "## release-gate deploy `1.4.2` …", stderr });
    expect(f.message).not.toMatch(/ExecError|withExec|exit code/);
  });

  it("keeps a refusal's exit code 2", () => {
    expect(failureOf("plan", { exitCode: 2, stdout: "", stderr: "release-gate: release.yaml is invalid" }).extensions.exitCode).toBe(2);
    expect(refusal("no cluster").extensions).toMatchObject({ _type: "EXEC_ERROR", exitCode: 2 });
  });

  it("says what exited how when the CLI printed nothing", () => {
    expect(failureOf("status", { exitCode: 137, stdout: "", stderr: "" }).message).toBe("release-gate status exited 137");
  });
});
