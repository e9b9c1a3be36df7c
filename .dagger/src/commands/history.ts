/** `release-gate history`: the release records kept in the cluster, newest first. */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, type ClusterFlags } from "./support.ts";
import { examples, intOption, output } from "./common.ts";
import { FailedError } from "../errors.ts";

export function register(program: Command): void {
  addClusterOptions(
    program
      .command("history")
      .description("List the recorded releases (ConfigMap release-gate-history), newest first.")
      .option("--limit <n>", "show only the newest N records", intOption(1))
      .addHelpText(
        "after",
        examples(
          ["history", "every record kept (release.yaml's historyLimit, 20 by default)"],
          ["history --limit 5", "the newest five"],
          ["history --limit 1 --json", "the last release's full record, for scripts"],
        ),
      ),
  ).action(async (flags: ClusterFlags & { limit?: number }) => {
    // Loaded here, not at the top: `history --help` must not load the Kubernetes client.
    const [{ historyToMarkdown }, { readHistory }, { pipelineEnv }, { explainApiFailure, isApiFailure }] = await Promise.all([
      import("../audit/markdown.ts"),
      import("../audit/history.ts"),
      import("./pipeline-env.ts"),
      import("../kube/api-errors.ts"),
    ]);
    const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
    const all = await readHistory(env.kube, env.config.namespace).catch((err: unknown) => {
      if (!isApiFailure(err)) throw err;
      const server = env.kube.kc.getCurrentCluster()?.server;
      throw new FailedError(
        `history: could not read ConfigMap ${env.config.namespace}/release-gate-history: ${explainApiFailure(err, server, env.config.namespace)}`,
      );
    });
    const records = all.slice(0, flags.limit);
    output(
      flags,
      () => historyToMarkdown(records),
      () => JSON.stringify(records, null, 2) + "\n",
    );
  });
}
