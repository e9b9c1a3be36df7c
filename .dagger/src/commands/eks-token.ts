/**
 * `release-gate eks-token --cluster NAME --region REGION`: an ExecCredential with an EKS bearer token, like
 * `aws eks get-token`, so kubectl users (an `exec` entry in their kubeconfig) and the runbook use the same code as
 * the pipeline, without the AWS CLI. Credentials come from the standard chain; without any, it exits 2 and prints
 * no token. Nothing is sent to AWS: the token is a presigned request the API server checks with STS.
 */
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { awsError } from "../aws/errors.ts";
import { standardCredentials } from "../aws/credentials.ts";
import { eksExecUserYaml } from "../aws/eks-exec-user.ts";
import { eksToken } from "../aws/eks-token.ts";
import { UsageError } from "../errors.ts";

/** This bin, as a kubeconfig's exec entry names it. */
const BIN = fileURLToPath(new URL("../../../bin/release-gate.js", import.meta.url));

export function register(program: Command): void {
  program
    .command("eks-token")
    .description(
      "Print an ExecCredential (client.authentication.k8s.io/v1beta1) with a bearer token for an EKS cluster, like `aws eks get-token`; " +
        "credentials from the AWS standard chain. Exit 2 without credentials (no token printed).",
    )
    .requiredOption("--cluster <name>", "EKS cluster name (not its ARN)")
    .option("--region <region>", "the cluster's AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION)")
    .addHelpText("after", () =>
      [
        "",
        "Examples:",
        "  release-gate eks-token --cluster qualisys-prod --region eu-west-1",
        "",
        "In a kubeconfig: this installation's Node and bin by absolute path. kubectl runs the command from any directory",
        "and without a terminal, where npx would download and run whatever the npm registry has under the name release-gate.",
        "",
        eksExecUserYaml({ name: "qualisys-prod", cluster: "qualisys-prod", region: "eu-west-1", node: process.execPath, bin: BIN })
          .trimEnd()
          .replace(/^/gm, "  "),
      ].join("\n"),
    )
    .action(async (flags: { cluster: string; region?: string }) => {
      const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      if (!region) throw new UsageError("eks-token needs the cluster's region: pass --region or set AWS_REGION");
      if (flags.cluster.startsWith("arn:")) {
        throw new UsageError("--cluster takes the EKS cluster's name (the part after cluster/ in its ARN), not the ARN");
      }
      let credentials;
      try {
        credentials = await standardCredentials(region)();
      } catch (err) {
        throw awsError(err, "making an EKS token", "", "no token was printed");
      }
      const t = await eksToken({ cluster: flags.cluster, region, credentials });
      const execCredential = {
        kind: "ExecCredential",
        apiVersion: "client.authentication.k8s.io/v1beta1",
        spec: {},
        // RFC 3339 without fractions, as aws eks get-token prints it.
        status: { expirationTimestamp: t.expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"), token: t.token },
      };
      process.stdout.write(JSON.stringify(execCredential) + "\n");
    });
}
