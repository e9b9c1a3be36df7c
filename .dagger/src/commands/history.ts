/** `release-gate history`: the release records kept in the cluster, newest first. */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, type ClusterFlags } from "./support.ts";
import { examples, intOption, output, redact } from "./common.ts";
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
    const [{ historyToMarkdown }, { HISTORY_CONFIGMAP, inspectHistory }, { inspectInFlight, STATE_CONFIGMAP }, { pipelineEnv }, api] =
      await Promise.all([
        import("../audit/markdown.ts"),
        import("../audit/history.ts"),
        import("../pipeline/journal.ts"),
        import("./pipeline-env.ts"),
        import("../kube/api-errors.ts"),
      ]);
    const { explainApiFailure, isApiFailure } = api;
    const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
    const ns = env.config.namespace;
    const [history, state] = await Promise.all([inspectHistory(env.kube, ns), inspectInFlight(env.kube, ns)]).catch((err: unknown) => {
      if (!isApiFailure(err)) throw err;
      const server = env.kube.kc.getCurrentCluster()?.server;
      throw new FailedError(`history: could not read ConfigMap ${ns}/${HISTORY_CONFIGMAP}: ${explainApiFailure(err, server, ns)}`);
    });
    const say = (line: string) => process.stderr.write(redact(`release-gate: ${line}\n`));
    // A run that finished and died before storing its record left it in its in-flight state: shown, stored by the next command.
    const pending = state.kind === "ok" && state.state.step.kind === "done" ? state.state.record : undefined;
    const all = pending && !history.records.some((r) => r.id === pending.id) ? [pending, ...history.records] : history.records;
    if (all[0] === pending && pending) {
      say(
        `the newest record (${pending.id}, ${pending.command} ${pending.tag}) is not in ConfigMap ${ns}/${HISTORY_CONFIGMAP} yet: its run ` +
          `finished and stopped before storing it; it is kept in ConfigMap ${ns}/${STATE_CONFIGMAP}, and the next release-gate command stores it`,
      );
    }
    if (history.asideKeys.length) {
      say(`earlier unreadable content of ConfigMap ${ns}/${HISTORY_CONFIGMAP} is kept aside under key(s) ${history.asideKeys.join(", ")}`);
    }
    const records = all.slice(0, flags.limit);
    output(
      flags,
      () => historyToMarkdown(records),
      () => JSON.stringify(records, null, 2) + "\n",
    );
    if (history.unreadable) {
      throw new FailedError(
        `history: ConfigMap ${ns}/${HISTORY_CONFIGMAP} is damaged: ${history.unreadable}. Only the readable records are shown; the next ` +
          `release moves the rest aside to a key of its own (nothing is deleted): \`kubectl -n ${ns} get configmap ${HISTORY_CONFIGMAP} -o yaml\``,
      );
    }
  });
}
