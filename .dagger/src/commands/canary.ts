/**
 * `release-gate canary --tag T --weight W`: one canary step for operators, with deploy's safety, and deploy's
 * two-person rule when it runs for a GitHub workflow run (`canary --weight 100` then `promote` releases an image).
 */
import type { Command } from "commander";
import { addClusterOptions, printAndRethrow, printRecord, withCancellation } from "./support.ts";
import { examples, intOption } from "./common.ts";
import { addReleaseOptions, releaseEnv, type ReleaseFlags } from "./release-env.ts";

export function register(program: Command): void {
  addClusterOptions(
    addReleaseOptions(
      program
        .command("canary")
        .description(
          "Size the canary for a weight, wait until Available, shift that weight, verify and smoke-test; rolls back on failure. " +
            "The release stays in flight for `promote` or `rollback`.",
        )
        .requiredOption("--tag <tag>", "image tag or sha256: digest")
        .requiredOption("--weight <percent>", "canary weight, 1..100", intOption(1))
        .option(
          "--allow-mutable-tag",
          "release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it",
        )
        .addHelpText(
          "after",
          examples(
            ["canary --tag 1.4.2 --weight 10", "size the canary, shift 10 % to it, verify, smoke-test"],
            ["canary --tag 1.4.2 --weight 100", "then: promote --tag 1.4.2, or rollback"],
          ),
        ),
      "canary step",
    ),
  ).action(async (flags: ReleaseFlags & { tag: string; weight: number; allowMutableTag?: boolean }) => {
    // Loaded here, not at the top: `canary --help` must not load the Kubernetes client.
    const { canary } = await import("../pipeline/operator.ts");
    const env = await releaseEnv(flags, "canary");
    const record = await withCancellation((signal) =>
      canary(env, { tag: flags.tag, weight: flags.weight, allowMutableTag: flags.allowMutableTag ?? false, signal }),
    ).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
