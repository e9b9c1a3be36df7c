/**
 * `release-gate deploy --tag T`: the whole release (preflight, canary phases, promote, record); `--repair` rolls
 * an interrupted release back first, `--resume` continues it (same tag) from the step it stopped in.
 */
import type { Command } from "commander";
import { addClusterOptions, printAndRethrow, printRecord, withCancellation } from "./support.ts";
import { examples } from "./common.ts";
import { addReleaseOptions, releaseEnv, type ReleaseFlags } from "./release-env.ts";

interface DeployFlags extends ReleaseFlags {
  tag: string;
  skipCanary?: boolean;
  reason?: string;
  repair?: boolean;
  resume?: boolean;
  allowMutableTag?: boolean;
}

export function register(program: Command): void {
  addClusterOptions(
    addReleaseOptions(
      program
        .command("deploy")
        .description(
          "Release an image: canary phases from release.yaml with smoke tests and health watch, then promote; " +
            "rolls back by itself on any failure. Exit 0 released, 1 rolled back/failed, 2 refused (nothing changed).",
        )
        .requiredOption("--tag <tag>", "image tag (OCI tag grammar) or sha256: digest to release")
        .option("--skip-canary", "emergency hotfix: straight to promote with smoke tests (needs --reason)")
        .option("--reason <text>", "why the canary is skipped (recorded)")
        .option("--repair", "roll back an interrupted release first, then deploy")
        .option(
          "--allow-mutable-tag",
          "release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it",
        )
        .option(
          "--resume",
          "continue the interrupted release of this same tag from the step it stopped in " +
            "(after checking production still matches its record); excludes --repair",
        )
        .addHelpText(
          "after",
          examples(
            ["deploy --tag 1.4.2", "preflight → 10 % → 50 % → 100 % → promote → record"],
            ['deploy --tag 1.4.3 --skip-canary --reason "hotfix INC-231"', "emergency: straight to promote, reason recorded"],
            ["deploy --tag 1.4.2 --resume", "a run that died: continue it from the step it stopped in"],
            ["deploy --tag 1.4.3 --repair", "a run that died: roll it back, then release 1.4.3"],
            ["deploy --tag 1.4.2 --kubeconfig ~/.kube/prod --token-env QA_TOKEN", "another cluster, another token variable"],
          ),
        ),
      "release",
    ),
  ).action(async (flags: DeployFlags) => {
    // Loaded here, not at the top: `deploy --help` must not load the Kubernetes client.
    const { deploy } = await import("../pipeline/deploy.ts");
    const env = await releaseEnv(flags, "deploy");
    const record = await withCancellation((signal) =>
      deploy(env, {
        tag: flags.tag,
        skipCanary: flags.skipCanary ?? false,
        ...(flags.reason ? { reason: flags.reason } : {}),
        repair: flags.repair ?? false,
        resume: flags.resume ?? false,
        allowMutableTag: flags.allowMutableTag ?? false,
        signal,
      }),
    ).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
