/** `release-gate rollback [--reason R]`: from any state back to all traffic on a healthy stable (I4). */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, printAndRethrow, printRecord, type ClusterFlags } from "./support.ts";
import { examples } from "./common.ts";

export function register(program: Command): void {
  addClusterOptions(
    program
      .command("rollback")
      .description(
        "Repair production from any state: restore stable's previous template if promotion had started, weight 0 verified, canary to 0. " +
          "Takes the lock over from a dead run (one that stopped renewing it); refuses a live one (exit 2) unless --force.",
      )
      .option("--reason <text>", "why (recorded)")
      .option(
        "--force",
        "emergency: take the lock even from a live run; that run stops at its next renewal WITHOUT rolling back, and this rollback repairs production",
      )
      .addHelpText(
        "after",
        examples(
          ['rollback --reason "errors on checkout"', "weight 0 verified, canary to 0, stable restored if promotion had started"],
          ['rollback --force --reason "INC-231"', "emergency: take the lock from a live run"],
        ),
      ),
  ).action(async (flags: ClusterFlags & { reason?: string; force?: boolean }) => {
    // Loaded here, not at the top: `rollback --help` must not load the Kubernetes client.
    const [{ rollback }, { pipelineEnv }] = await Promise.all([import("../pipeline/operator.ts"), import("./pipeline-env.ts")]);
    const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags) });
    // Not cancellable on purpose: a rollback interrupted halfway is worse than one that finishes.
    const record = await rollback(env, {
      ...(flags.reason ? { reason: flags.reason } : {}),
      ...(flags.force ? { force: true } : {}),
    }).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
