/**
 * `release-gate promote --tag T`: promote a canary that passed at 100 % (I3), with deploy's safety, and deploy's
 * two-person rule when it runs for a GitHub workflow run.
 */
import type { Command } from "commander";
import { addClusterOptions, printAndRethrow, printRecord, withCancellation } from "./support.ts";
import { examples } from "./common.ts";
import { addReleaseOptions, releaseEnv, type ReleaseFlags } from "./release-env.ts";

export function register(program: Command): void {
  addClusterOptions(
    addReleaseOptions(
      program
        .command("promote")
        .description(
          "Update stable to the canary's image (only after the canary passed at weight 100), shift traffic back to stable, " +
            "scale the canary to 0; restores stable on failure.",
        )
        .requiredOption("--tag <tag>", "the tag whose canary is in flight")
        .option(
          "--allow-mutable-tag",
          "release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it",
        )
        .addHelpText("after", examples(["promote --tag 1.4.2", "after canary --tag 1.4.2 --weight 100 passed"])),
      "promotion",
    ),
  ).action(async (flags: ReleaseFlags & { tag: string; allowMutableTag?: boolean }) => {
    // Loaded here, not at the top: `promote --help` must not load the Kubernetes client.
    const { promote } = await import("../pipeline/operator.ts");
    const env = await releaseEnv(flags, "promote");
    const record = await withCancellation((signal) =>
      promote(env, { tag: flags.tag, allowMutableTag: flags.allowMutableTag ?? false, signal }),
    ).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
