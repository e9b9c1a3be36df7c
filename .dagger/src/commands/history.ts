/** `release-gate history`: the release records kept in the cluster, newest first. */
import type { Command } from "commander";
import { historyToMarkdown } from "../audit/markdown.ts";
import { readHistory } from "../audit/history.ts";
import { pipelineEnv } from "./pipeline-env.ts";
import { addClusterOptions, type ClusterFlags } from "./support.ts";
import { output } from "./common.ts";
import { FailedError } from "../errors.ts";
import { explainApiFailure, isApiFailure } from "../kube/api-errors.ts";

export function register(program: Command): void {
  addClusterOptions(
    program.command("history").description("List the recorded releases (ConfigMap release-gate-history), newest first."),
  ).action(async (flags: ClusterFlags) => {
    const env = await pipelineEnv({ config: flags.config, ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), quiet: true });
    const records = await readHistory(env.kube, env.config.namespace).catch((err: unknown) => {
      if (!isApiFailure(err)) throw err;
      const server = env.kube.kc.getCurrentCluster()?.server;
      throw new FailedError(
        `history: could not read ConfigMap ${env.config.namespace}/release-gate-history: ${explainApiFailure(err, server, env.config.namespace)}`,
      );
    });
    output(
      flags,
      () => historyToMarkdown(records),
      () => JSON.stringify(records, null, 2) + "\n",
    );
  });
}
