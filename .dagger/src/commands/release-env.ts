/**
 * What the commands that release an image (deploy, undo, canary, promote) share: the smoke-token and GitHub-run
 * options, and the run's environment built with the two-person rule checked first (a run that fails it never
 * reaches the cluster). `rollback` takes none of this on purpose: taking traffic away never waits for approvals.
 * The pipeline and the GitHub client are loaded only when a command runs, never for its --help.
 */
import type { Command } from "commander";
import type { PipelineEnv } from "../pipeline/context.ts";
import { envNameOption, readSecretEnv, registerSecret } from "./common.ts";
import { clusterSource, type ClusterFlags } from "./support.ts";

export interface ReleaseFlags extends ClusterFlags {
  /** The tag released (deploy, canary, promote; undo finds its own in the history). */
  tag?: string;
  tokenEnv: string;
  githubRun?: string;
  githubTokenEnv: string;
}

/** --token-env, as every command that smoke-tests a release takes it (deploy, undo, canary, promote). */
export function addSmokeTokenOption(cmd: Command): Command {
  return cmd.option(
    "--token-env <name>",
    "NAME of the environment variable holding the smoke-test bearer token",
    envNameOption,
    "SMOKE_TEST_TOKEN",
  );
}

/** --token-env, --github-run and --github-token-env, as deploy, undo, canary and promote take them. `what`: for --help. */
export function addReleaseOptions(cmd: Command, what: string): Command {
  return addSmokeTokenOption(cmd)
    .option(
      "--github-run <run>",
      `the GitHub workflow run this ${what} belongs to (OWNER/REPO/RUN_ID or its URL; default in Actions: GITHUB_REPOSITORY/GITHUB_RUN_ID): ` +
        "its approvals must satisfy release.yaml's two-person rule before anything changes (else exit 2)",
    )
    .option(
      "--github-token-env <name>",
      "NAME of the environment variable holding the GitHub token that reads the run's approvals (actions: read)",
      envNameOption,
      "GITHUB_TOKEN",
    );
}

/** The smoke token read (and registered for redaction), the run's approvals checked, then the pipeline environment. */
export async function releaseEnv(flags: ReleaseFlags, command: string): Promise<PipelineEnv> {
  const [{ pipelineEnv }, { approvalForDeploy }] = await Promise.all([import("./pipeline-env.ts"), import("../github/deploy-gate.ts")]);
  const token = readSecretEnv(flags.tokenEnv);
  // Before preflight: a run that fails the two-person rule never reaches the cluster.
  const approval = await approvalForDeploy({
    command,
    ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
    ...(flags.githubRun ? { githubRun: flags.githubRun } : {}),
    config: flags.config,
    tokenEnv: flags.githubTokenEnv,
    env: process.env,
    say: (line) => process.stderr.write(`release-gate: ${line}\n`),
    secret: registerSecret,
  });
  return pipelineEnv({
    ...(approval ? { approval } : {}),
    config: flags.config,
    ...clusterSource(flags),
    ...(token ? { smokeToken: token } : {}),
  });
}
