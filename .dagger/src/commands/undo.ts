/**
 * `release-gate undo [--skip-canary --reason R]`: take back the last release by releasing what stable ran before
 * it (from release-gate-history), through the same phases as `deploy`.
 */
import type { Command } from "commander";
import { addClusterOptions, clusterSource, printAndRethrow, printRecord, withCancellation, type ClusterFlags } from "./support.ts";
import { envNameOption, examples, readSecretEnv, registerSecret } from "./common.ts";

interface UndoFlags extends ClusterFlags {
  skipCanary?: boolean;
  reason?: string;
  dryRun?: boolean;
  tokenEnv: string;
  githubRun?: string;
  githubTokenEnv: string;
}

export function register(program: Command): void {
  addClusterOptions(
    program
      .command("undo")
      .description(
        "Take back the last release: release the image each stable ran before it (from the release history) through the same canary phases " +
          "as deploy, and promote it; rolls back by itself on any failure. Refused (exit 2, nothing changed) when there is nothing sure to " +
          "take back: no release recorded, the last one already rolled back, stable changed since.",
      )
      .option("--skip-canary", "emergency: straight to promote with smoke tests (needs --reason)")
      .option("--reason <text>", "why the release is taken back (recorded)")
      .option("--dry-run", "say what undo would take back and release; change nothing")
      .option(
        "--token-env <name>",
        "NAME of the environment variable holding the smoke-test bearer token",
        envNameOption,
        "SMOKE_TEST_TOKEN",
      )
      .option(
        "--github-run <run>",
        "the GitHub workflow run this undo belongs to (OWNER/REPO/RUN_ID or its URL; default in Actions: GITHUB_REPOSITORY/GITHUB_RUN_ID): " +
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
          ["undo --dry-run", "which release would be taken back, and what is released instead"],
          ['undo --reason "INC-231: checkout errors since 1.4.2"', "release what ran before the last release, 10 % → 50 % → 100 %"],
          ['undo --skip-canary --reason "INC-231"', "emergency: straight back to what ran before"],
        ),
      ),
  ).action(async (flags: UndoFlags) => {
    // Loaded here, not at the top: `undo --help` must not load the Kubernetes client.
    const [{ undo, planUndo, describeUndo }, { readHistory }, { pipelineEnv }, { approvalForDeploy }] = await Promise.all([
      import("../pipeline/undo.ts"),
      import("../audit/history.ts"),
      import("./pipeline-env.ts"),
      import("../github/deploy-gate.ts"),
    ]);
    const token = readSecretEnv(flags.tokenEnv);
    if (flags.dryRun) {
      const env = await pipelineEnv({ config: flags.config, ...clusterSource(flags), quiet: true });
      const plan = planUndo(await readHistory(env.kube, env.config.namespace), env.config);
      process.stdout.write(
        flags.json ? JSON.stringify(plan, null, 2) + "\n" : `undo ${describeUndo(plan)}; nothing was changed (--dry-run)\n`,
      );
      return;
    }
    // Before preflight: a run that fails the two-person rule never reaches the cluster (an undo is a release).
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
      undo(env, { skipCanary: flags.skipCanary ?? false, ...(flags.reason ? { reason: flags.reason } : {}), signal }),
    ).catch((err) => printAndRethrow(err, flags.json));
    await printRecord(record, flags.json);
  });
}
