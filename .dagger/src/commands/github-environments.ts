/**
 * `release-gate github-environments --check | --apply --repo OWNER/REPO`: GitHub environments as code. --check
 * names every drift from release.yaml's `approvals:` (exit 1), --apply makes GitHub so (admin token).
 */
import type { Command } from "commander";
import { DEFAULT_CONFIG_PATH } from "../config/load.ts";
import { FailedError, UsageError } from "../errors.ts";
import { apiUrlFrom, gitHubClient, requireToken } from "../github/client.ts";
import { loadApprovals } from "../github/config.ts";
import { applyEnvironments, checkEnvironments, driftToText } from "../github/environments.ts";
import { parseRepo } from "../github/repo.ts";
import { envNameOption, examples, output, readSecretEnv } from "./common.ts";

interface EnvironmentsFlags {
  repo: string;
  check?: boolean;
  apply?: boolean;
  config: string;
  tokenEnv: string;
  apiUrl?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("github-environments")
    .description(
      "GitHub environments as code: compare each environment of release.yaml's approvals: with GitHub (exact reviewers, prevent_self_review on, " +
        "deployment branch approvals.branch only, no admin bypass). --check exits 1 naming every drift; " +
        "--apply makes GitHub so (needs an admin token). Exit 2: could not check.",
    )
    .requiredOption("--repo <owner/repo>", "the repository, e.g. qualisys/platform")
    .option("--check", "report drift, change nothing (exit 0 none, 1 drift)")
    .option("--apply", "make GitHub match release.yaml, then check again")
    .option("--config <file>", "release.yaml with the approvals: section", DEFAULT_CONFIG_PATH)
    .option("--token-env <name>", "NAME of the environment variable holding the GitHub token", envNameOption, "GITHUB_TOKEN")
    .option("--api-url <url>", "GitHub API root (default: GITHUB_API_URL, else https://api.github.com)")
    .option("--json", "print the drift as JSON")
    .addHelpText(
      "after",
      examples(
        ["github-environments --check --repo qualisys/platform", "drift from release.yaml, named (GITHUB_TOKEN set)"],
        ["github-environments --apply --repo qualisys/platform", "make GitHub so (a repository admin's token)"],
        ["github-environments --check --repo qualisys/platform --json", "the drift for scripts"],
      ),
    )
    .action(async (flags: EnvironmentsFlags) => {
      if (!!flags.check === !!flags.apply) throw new UsageError("github-environments needs exactly one of --check and --apply");
      const repo = parseRepo(flags.repo);
      const approvals = await loadApprovals(flags.config);
      readSecretEnv(flags.tokenEnv);
      const gh = gitHubClient({ apiUrl: apiUrlFrom(flags.apiUrl, process.env), token: requireToken(process.env, flags.tokenEnv) });
      if (flags.apply) await applyEnvironments(gh, repo, approvals, (line) => process.stderr.write(`release-gate: ${line}\n`));
      const drifts = await checkEnvironments(gh, repo, approvals);
      output(
        flags,
        () => driftToText(repo, drifts, approvals.branch),
        () => JSON.stringify({ repo: `${repo.owner}/${repo.repo}`, environments: drifts }, null, 2) + "\n",
      );
      const total = drifts.reduce((n, d) => n + d.drift.length, 0);
      if (total) {
        throw new FailedError(
          flags.apply
            ? `${total} drift(s) remain after --apply: GitHub did not keep what was set (see above)`
            : `${total} drift(s) between GitHub and release.yaml`,
        );
      }
    });
}
