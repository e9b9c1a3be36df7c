/**
 * Plumbing the pipeline commands (deploy, canary, promote, rollback, status, history, plan) share: the cluster
 * options, cancellation by SIGTERM/SIGINT (a cancelled CI job rolls back before exiting), and printing the
 * release record (Markdown or --json, plus $GITHUB_STEP_SUMMARY when running in GitHub Actions).
 */
import { appendFile } from "node:fs/promises";
import type { Command } from "commander";
import { recordToMarkdown } from "../audit/markdown.ts";
import type { ReleaseRecord } from "../audit/record.ts";
import { DEFAULT_CONFIG_PATH } from "../config/load.ts";
import { ReleaseFailedError } from "../pipeline/lifecycle.ts";

export interface ClusterFlags {
  config: string;
  kubeconfig?: string;
  json?: boolean;
}

export function addClusterOptions(cmd: Command): Command {
  return cmd
    .option("--config <file>", "release.yaml describing what a release touches", DEFAULT_CONFIG_PATH)
    .option("--kubeconfig <file>", "kubeconfig to use (default: KUBECONFIG, or the kubeconfig text in RELEASE_GATE_KUBECONFIG)")
    .option("--json", "print the result as JSON");
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
  process.stdout.write(json ? JSON.stringify(record, null, 2) + "\n" : recordToMarkdown(record));
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) await appendFile(summary, recordToMarkdown(record)).catch(() => undefined);
}

/** Print the record a failed run attached to its error (if any), then rethrow for the exit code. */
export async function printAndRethrow(err: unknown, json: boolean | undefined): Promise<never> {
  if (err instanceof ReleaseFailedError && err.record) await printRecord(err.record, json);
  throw err;
}
