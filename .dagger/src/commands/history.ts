/** `release-gate history`: the release records kept in the cluster, newest first. */
import type { Command } from "commander";
import { historyToMarkdown } from "../audit/markdown.ts";
import { readHistory } from "../audit/history.ts";
import { pipelineEnv } from "./pipeline-env.ts";
import { addClusterOptions, clusterSource, type ClusterFlags } from "./support.ts";
import { output } from "./common.ts";

export function register(program: Command): void {
  addClusterOptions(
    program.command("history").description("List the recorded releases (ConfigMap release-gate-history), newest first."),
  ).action(async (flags: ClusterFlags) => {
    const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
    const records = await readHistory(env.kube, env.config.namespace);
    output(
      flags,
      () => historyToMarkdown(records),
      () => JSON.stringify(records, null, 2) + "\n",
    );
  });
}
