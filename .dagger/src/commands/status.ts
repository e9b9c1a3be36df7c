/**
 * `release-gate status [--watch]`: what production runs now, whether it is healthy, the lock and whether its holder
 * is alive, any release in flight with the ways out; `--watch` follows a release until it ends (exit 0 promoted,
 * 1 rolled back or its run died, 2 nothing to watch).
 */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, type ClusterFlags } from "./support.ts";
import { examples, output } from "./common.ts";
import { FailedError, UsageError } from "../errors.ts";

export function register(program: Command): void {
  addClusterOptions(
    program
      .command("status")
      .description(
        "Show what production runs now: images and replicas, canary weights, whether production is healthy, the release lock (and whether its run is alive), " +
          "any release in flight with the ways out, and drift from the last release. --watch follows a release until it ends.",
      )
      .option(
        "--watch",
        "follow the release in flight until it ends, redrawn as it changes (from watches, not polling): exit 0 promoted, 1 rolled back " +
          "or its run died, 2 nothing to watch",
      )
      .addHelpText(
        "after",
        examples(
          ["status", "images, replicas, weights, health, who holds the lock, anything in flight"],
          ["status --json", "the same for scripts"],
          ["status --watch", "follow a release to its end: phase, weights, canary pods, probes, time left"],
        ),
      ),
  ).action(async (flags: ClusterFlags & { watch?: boolean }) => {
    if (flags.watch && flags.json) {
      throw new UsageError("--watch draws a live picture and --json prints one snapshot: use one or the other; nothing was read");
    }
    // Loaded here, not at the top: `status --help` must not load the Kubernetes client.
    const [{ pipelineEnv }, { readStatus }, { statusToText }] = await Promise.all([
      import("./pipeline-env.ts"),
      import("../pipeline/status.ts"),
      import("../pipeline/status-text.ts"),
    ]);
    const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
    if (flags.watch) {
      const { watchStatus } = await import("../pipeline/status-watch.ts");
      const end = await watchStatus(env, { write: (t) => process.stdout.write(t), tty: Boolean(process.stdout.isTTY) });
      if (end.code === 2) throw new UsageError(end.message);
      if (end.code === 1) throw new FailedError(end.message);
      process.stdout.write(`${end.message}\n`);
      return;
    }
    // On stderr: stdout stays the answer (--json parses).
    const status = await readStatus(env, { onWaiting: (what) => process.stderr.write(`status: ${what}\n`) });
    output(
      flags,
      () => statusToText(status),
      () => JSON.stringify(status, null, 2) + "\n",
    );
  });
}
