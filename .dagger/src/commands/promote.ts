/** `release-gate promote --tag T`: promote a canary that passed at 100 % (I3), with deploy's safety. */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, printAndRethrow, printRecord, withCancellation, type ClusterFlags } from "./support.ts";
import { examples, readSecretEnv } from "./common.ts";
import { addSmokeTokenOption } from "./release-env.ts";

export function register(program: Command): void {
  addClusterOptions(
    addSmokeTokenOption(
      program
        .command("promote")
        .description(
          "Update stable to the canary's image (only after the canary passed at weight 100), shift traffic back to stable, scale the canary to 0; restores stable on failure.",
        )
        .requiredOption("--tag <tag>", "the tag whose canary is in flight")
        .option(
          "--allow-mutable-tag",
          "release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it",
        )
        .addHelpText("after", examples(["promote --tag 1.4.2", "after canary --tag 1.4.2 --weight 100 passed"])),
    ),
  ).action(async (flags: ClusterFlags & { tag: string; allowMutableTag?: boolean; tokenEnv: string }) => {
    // Loaded here, not at the top: `promote --help` must not load the Kubernetes client.
    const [{ promote }, { pipelineEnv }] = await Promise.all([import("../pipeline/operator.ts"), import("./pipeline-env.ts")]);
    const token = readSecretEnv(flags.tokenEnv);
    const env = await pipelineEnv({
      config: flags.config,
      ...clusterSource(flags),
      ...(token ? { smokeToken: token } : {}),
    });
    const record = await withCancellation((signal) =>
      promote(env, { tag: flags.tag, allowMutableTag: flags.allowMutableTag ?? false, signal }),
    ).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
