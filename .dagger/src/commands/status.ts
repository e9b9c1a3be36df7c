/** `release-gate status`: what production runs now, weights, lock holder, any release in flight. */
import type { Command } from "commander";
import { pipelineEnv } from "./pipeline-env.ts";
import { readStatus, statusToText } from "../pipeline/status.ts";
import { addClusterOptions, clusterSource, type ClusterFlags } from "./support.ts";
import { examples, output } from "./common.ts";

export function register(program: Command): void {
  addClusterOptions(
    program
      .command("status")
      .description("Show what production runs now: images and replicas, canary weights, the release lock, any interrupted release.")
      .addHelpText(
        "after",
        examples(
          ["status", "images, replicas, weights, who holds the lock, anything in flight"],
          ["status --json", "the same for scripts"],
        ),
      ),
  ).action(async (flags: ClusterFlags) => {
    const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
    const status = await readStatus(env);
    output(
      flags,
      () => statusToText(status),
      () => JSON.stringify(status, null, 2) + "\n",
    );
  });
}
