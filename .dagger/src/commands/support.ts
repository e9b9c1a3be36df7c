/**
 * Plumbing the pipeline commands (deploy, canary, promote, rollback, status, history, plan) share: the cluster
 * options, cancellation by SIGTERM/SIGINT (a cancelled CI job rolls back before exiting), and printing the
 * release record (Markdown or --json, plus $GITHUB_STEP_SUMMARY when running in GitHub Actions).
 */
import { appendFile } from "node:fs/promises";
import type { Command } from "commander";
import type { ReleaseRecord } from "../audit/record.ts";
import { DEFAULT_CONFIG_PATH } from "../config/default-path.ts";
import type { ClusterSource } from "../kube/connect.ts";

export interface ClusterFlags extends ClusterSource {
  config: string;
  json?: boolean;
}

/** The options naming the cluster; the Dagger module takes the same ones as constructor arguments. */
export const CLUSTER_OPTIONS = ["kubeconfig", "context", "eksCluster", "awsRegion"] as const;

export function addClusterOptions(cmd: Command): Command {
  return cmd
    .option("--config <file>", "release.yaml describing what a release touches", DEFAULT_CONFIG_PATH)
    .option("--kubeconfig <file>", "kubeconfig to use (default: KUBECONFIG, or the kubeconfig text in RELEASE_GATE_KUBECONFIG)")
    .option("--context <name>", "kubeconfig context to use (default: the kubeconfig's current-context)")
    .option("--eks-cluster <name>", "reach this EKS cluster with AWS credentials (standard chain) instead of a kubeconfig")
    .option("--aws-region <region>", "the EKS cluster's region (default: AWS_REGION); only with --eks-cluster")
    .option("--json", "print the result as JSON");
}

/** The cluster options of a command's flags, for pipelineEnv. */
export function clusterSource(flags: ClusterSource): ClusterSource {
  const out: ClusterSource = {};
  for (const k of CLUSTER_OPTIONS) if (flags[k] !== undefined) out[k] = flags[k];
  return out;
}

/** Run `fn` with a signal aborted by SIGTERM/SIGINT; handlers are removed afterwards. */
export async function withCancellation<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = (name: string) => () => {
    if (!abort.signal.aborted) {
      process.stderr.write(`release-gate: ${name} received: stopping and rolling back before exit\n`);
      abort.abort(new Error(`${name} received (run cancelled)`));
    }
  };
  const term = onSignal("SIGTERM");
  const int = onSignal("SIGINT");
  process.on("SIGTERM", term);
  process.on("SIGINT", int);
  try {
    return await fn(abort.signal);
  } finally {
    process.off("SIGTERM", term);
    process.off("SIGINT", int);
  }
}

export async function printRecord(record: ReleaseRecord, json: boolean | undefined): Promise<void> {
  const { recordToMarkdown } = await import("../audit/markdown.ts");
  process.stdout.write(json ? JSON.stringify(record, null, 2) + "\n" : recordToMarkdown(record));
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) await appendFile(summary, recordToMarkdown(record)).catch(() => undefined);
}

/** Print the record a failed run attached to its error (if any), then rethrow for the exit code. */
export async function printAndRethrow(err: unknown, json: boolean | undefined): Promise<never> {
  // Loaded here: the lifecycle (and the Kubernetes client) is already loaded whenever a release failed.
  const { ReleaseFailedError } = await import("../pipeline/lifecycle.ts");
  if (err instanceof ReleaseFailedError && err.record) await printRecord(err.record, json);
  throw err;
}
