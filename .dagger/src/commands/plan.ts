/** `release-gate plan --tag T`: what deploy would do, step by step, and its worst case; changes nothing. */
import type { Command } from "commander";
import { DEFAULT_CONFIG_PATH } from "../config/default-path.ts";
import { examples, output } from "./common.ts";

export function register(program: Command): void {
  program
    .command("plan")
    .description(
      "Print what `deploy --tag T` would do and its worst-case duration; exit 2 if that exceeds the budget. " +
        "Reads only release.yaml: nothing is sent to the cluster.",
    )
    .requiredOption("--tag <tag>", "image tag or sha256: digest")
    .option("--skip-canary", "plan an emergency release without canary phases")
    .option(
      "--allow-mutable-tag",
      "release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it",
    )
    .option("--config <file>", "release.yaml", DEFAULT_CONFIG_PATH)
    .option("--json", "print the plan as JSON")
    .addHelpText(
      "after",
      examples(
        ["plan --tag 1.4.2", "every step, its deadline, and the worst case against the budget"],
        ["plan --tag 1.4.3 --skip-canary", "the emergency path: straight to promote"],
        ["plan --tag 1.4.2 --config staging/release.yaml --json", "another release.yaml; JSON for scripts"],
      ),
    )
    .action(async (flags: { tag: string; skipCanary?: boolean; allowMutableTag?: boolean; config: string; json?: boolean }) => {
      // Loaded here, not at the top: `plan --help` must not load what a plan needs.
      const [{ assertImmutableTag, parseVersion }, { loadReleaseConfig }, { assertWithinBudget, planRelease, planToText }] =
        await Promise.all([import("../config/image-ref.ts"), import("../config/load.ts"), import("../pipeline/plan.ts")]);
      const version = parseVersion(flags.tag);
      const { config, path } = await loadReleaseConfig(flags.config);
      // As deploy would refuse it: plan says so first.
      assertImmutableTag(version, config.mutableTags, flags.allowMutableTag ?? false);
      const plan = planRelease(config, { skipCanary: flags.skipCanary ?? false });
      output(
        flags,
        () =>
          planToText(
            plan,
            `release-gate plan: ${flags.tag} to ${config.namespace} (${config.services.map((s) => s.name).join(", ")}) via ${config.router.kind}, from ${path}`,
          ),
        () => JSON.stringify({ tag: flags.tag, ...plan }, null, 2) + "\n",
      );
      assertWithinBudget(plan);
    });
}
