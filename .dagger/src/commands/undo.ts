/**
 * `release-gate undo [--skip-canary --reason R]`: take back the last release by releasing what stable ran before
 * it (from release-gate-history), through the same phases as `deploy`.
 */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, printAndRethrow, printRecord, withCancellation } from "./support.ts";
import { examples } from "./common.ts";
import { addReleaseOptions, releaseEnv, type ReleaseFlags } from "./release-env.ts";

interface UndoFlags extends ReleaseFlags {
  skipCanary?: boolean;
  reason?: string;
  dryRun?: boolean;
}

export function register(program: Command): void {
  addClusterOptions(
    addReleaseOptions(
      program
        .command("undo")
        .description(
          "Take back the last release: release the image each stable ran before it (from the release history) through the same canary phases " +
            "as deploy, and promote it; rolls back by itself on any failure. Refused (exit 2, nothing changed) when there is nothing sure to " +
            "take back: no release recorded, the last one already rolled back, stable changed since.",
        )
        .option("--skip-canary", "emergency: straight to promote with smoke tests (needs --reason)")
        .option("--reason <text>", "why the release is taken back (recorded)")
        .option("--dry-run", "say what undo would take back and release; change nothing")
        .addHelpText(
          "after",
          examples(
            ["undo --dry-run", "which release would be taken back, and what is released instead"],
            ['undo --reason "INC-231: checkout errors since 1.4.2"', "release what ran before the last release, 10 % → 50 % → 100 %"],
            ['undo --skip-canary --reason "INC-231"', "emergency: straight back to what ran before"],
          ),
        ),
      "undo",
    ),
  ).action(async (flags: UndoFlags) => {
    // Loaded here, not at the top: `undo --help` must not load the Kubernetes client.
    const { undo, planUndo, describeUndo } = await import("../pipeline/undo.ts");
    if (flags.dryRun) {
      const [{ pipelineEnv }, { readHistory }] = await Promise.all([import("./pipeline-env.ts"), import("../audit/history.ts")]);
      const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
      const plan = planUndo(await readHistory(env.kube, env.config.namespace), env.config);
      process.stdout.write(
        flags.json ? JSON.stringify(plan, null, 2) + "\n" : `undo ${describeUndo(plan)}; nothing was changed (--dry-run)\n`,
      );
      return;
    }
    const env = await releaseEnv(flags, "undo");
    const record = await withCancellation((signal) =>
      undo(env, { skipCanary: flags.skipCanary ?? false, ...(flags.reason ? { reason: flags.reason } : {}), signal }),
    ).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
