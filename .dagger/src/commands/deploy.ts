/**
 * `release-gate deploy --tag T`: the whole release (preflight, canary phases, promote, record); `--repair` rolls
 * an interrupted release back first, `--resume` continues it (same tag) from the step it stopped in.
 */
import type { Command } from "commander";
import { deploy } from "../pipeline/deploy.ts";
import { pipelineEnv } from "./pipeline-env.ts";
import { addClusterOptions, clusterSource, printAndRethrow, printRecord, withCancellation, type ClusterFlags } from "./support.ts";
import { envNameOption, examples, readSecretEnv, registerSecret } from "./common.ts";
import { approvalForDeploy } from "../github/deploy-gate.ts";

interface DeployFlags extends ClusterFlags {
  tag: string;
  skipCanary?: boolean;
  reason?: string;
  repair?: boolean;
  resume?: boolean;
  allowMutableTag?: boolean;
  tokenEnv: string;
  githubRun?: string;
  githubTokenEnv: string;
}

export function register(program: Command): void {
  addClusterOptions(
    program
      .command("deploy")
      .description(
        "Release an image: canary phases from release.yaml with smoke tests and health watch, then promote; rolls back by itself on any failure. Exit 0 released, 1 rolled back/failed, 2 refused (nothing changed).",
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
        "continue the interrupted release of this same tag from the step it stopped in (after checking production still matches its record); excludes --repair",
      )
      .option(
        "--token-env <name>",
        "NAME of the environment variable holding the smoke-test bearer token",
        envNameOption,
        "SMOKE_TEST_TOKEN",
      )
      .option(
        "--github-run <run>",
        "the GitHub workflow run this release belongs to (OWNER/REPO/RUN_ID or its URL; default in Actions: GITHUB_REPOSITORY/GITHUB_RUN_ID): " +
          "its approvals must satisfy release.yaml's two-person rule before anything changes (else exit 2)",
      )
      .option(
        "--github-token-env <name>",
        "NAME of the environment variable holding the GitHub token that reads the run's approvals (actions: read)",
        envNameOption,
        "GITHUB_TOKEN",
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
  ).action(async (flags: DeployFlags) => {
    const token = readSecretEnv(flags.tokenEnv);
    // Before preflight: a run that fails the two-person rule never reaches the cluster.
    const approval = await approvalForDeploy({
      ...(flags.githubRun ? { githubRun: flags.githubRun } : {}),
      config: flags.config,
      tokenEnv: flags.githubTokenEnv,
      env: process.env,
      say: (line) => process.stderr.write(`release-gate: ${line}\n`),
      secret: registerSecret,
    });
    const env = await pipelineEnv({
      ...(approval ? { approval } : {}),
      config: flags.config,
      ...clusterSource(flags),
      ...(token ? { smokeToken: token } : {}),
    });
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
