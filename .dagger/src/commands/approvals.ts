/**
 * `release-gate approvals --repo OWNER/REPO --run-id ID`: does this workflow run satisfy the two-person rule of
 * release.yaml's `approvals:`? Exit 0 satisfied (who approved what), 1 not satisfied (found and missing), 2 could
 * not check (token, repository, run, GitHub or the network).
 */
import type { Command } from "commander";
import { DEFAULT_CONFIG_PATH } from "../config/load.ts";
import { FailedError } from "../errors.ts";
import { checkRunApprovals, verdictToText } from "../github/approvals.ts";
import { apiUrlFrom, gitHubClient, requireToken } from "../github/client.ts";
import { loadApprovals } from "../github/config.ts";
import { parseRepo, parseRunId } from "../github/repo.ts";
import { envNameOption, examples, output, readSecretEnv } from "./common.ts";

interface ApprovalsFlags {
  repo: string;
  runId: string;
  config: string;
  tokenEnv: string;
  apiUrl?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("approvals")
    .description(
      "Check a GitHub workflow run against the two-person rule in release.yaml (approvals:): every environment approved by one of its " +
        "reviewers, a different person for each, none of them the run's actor or triggering actor, no rejection. " +
        "Exit 0 satisfied, 1 not satisfied, 2 could not check.",
    )
    .requiredOption("--repo <owner/repo>", "the repository, e.g. qualisys/platform")
    .requiredOption("--run-id <id>", "the workflow run id (GITHUB_RUN_ID in Actions)")
    .option("--config <file>", "release.yaml with the approvals: section", DEFAULT_CONFIG_PATH)
    .option(
      "--token-env <name>",
      "NAME of the environment variable holding the GitHub token (needs actions: read)",
      envNameOption,
      "GITHUB_TOKEN",
    )
    .option("--api-url <url>", "GitHub API root (default: GITHUB_API_URL, else https://api.github.com)")
    .option("--json", "print the verdict as JSON")
    .addHelpText(
      "after",
      examples(
        ["approvals --repo qualisys/platform --run-id 16042", "who approved run 16042, and whether that is enough (GITHUB_TOKEN set)"],
        ['approvals --repo "$GITHUB_REPOSITORY" --run-id "$GITHUB_RUN_ID" --json', "inside the workflow, for scripts"],
      ),
    )
    .action(async (flags: ApprovalsFlags) => {
      const repo = parseRepo(flags.repo);
      const runId = parseRunId(flags.runId);
      const approvals = await loadApprovals(flags.config);
      readSecretEnv(flags.tokenEnv);
      const gh = gitHubClient({ apiUrl: apiUrlFrom(flags.apiUrl, process.env), token: requireToken(process.env, flags.tokenEnv) });
      const result = await checkRunApprovals(gh, { ...repo, runId }, approvals.environments);
      output(
        flags,
        () => verdictToText(result),
        () => JSON.stringify(result, null, 2) + "\n",
      );
      if (!result.verdict.satisfied)
        throw new FailedError(`the two-person rule is not satisfied for run ${runId}: ${result.verdict.problems.join("; ")}`);
    });
}
