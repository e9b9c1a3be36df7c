/**
 * The two-person rule inside every command that releases an image (deploy, undo, canary, promote): when the release
 * belongs to a GitHub workflow run (--github-run, or the GITHUB_REPOSITORY/GITHUB_RUN_ID of the job it runs in), the
 * run must be this release's (in progress, the production workflow, started by hand on the production branch) and
 * its approvals must satisfy the rule; otherwise it is refused (exit 2) before anything in the cluster changes. The
 * approvers, who started the run, its page and attempt go into the release record. `rollback` never comes here:
 * taking traffic away must never wait for approvals.
 */
import type { ApprovalRecord } from "../audit/record.ts";
import { UsageError } from "../errors.ts";
import { approvalRecord, checkRunApprovals, verdictToText } from "./approvals.ts";
import { apiUrlFrom, gitHubClient, requireToken } from "./client.ts";
import { loadApprovals } from "./config.ts";
import { releaseRunMismatches } from "./release-run.ts";
import { parseRunRef, runFromActionsEnv, type RunRef } from "./repo.ts";

export interface DeployGateOptions {
  /** The command asking (deploy, undo, canary, promote), for its refusals. */
  command?: string;
  /** The tag the command releases, when it is known before anything is read (not for undo): the run must name it. */
  tag?: string;
  /** --github-run as given (OWNER/REPO/RUN_ID or the run's URL). */
  githubRun?: string;
  config?: string;
  tokenEnv: string;
  apiUrl?: string;
  env: NodeJS.ProcessEnv;
  /** Progress lines (stderr). */
  say: (line: string) => void;
  /** Registers the token for redaction before anything can print it. */
  secret: (value: string) => void;
}

/** The run this deploy belongs to, if any. */
export function deployRun(o: Pick<DeployGateOptions, "githubRun" | "env">): RunRef | undefined {
  return o.githubRun ? parseRunRef(o.githubRun) : runFromActionsEnv(o.env);
}

/**
 * undefined when no GitHub run is involved; the approval to record when the run is this release's and the rule
 * holds; a UsageError otherwise.
 */
export async function approvalForDeploy(o: DeployGateOptions): Promise<ApprovalRecord | undefined> {
  const run = deployRun(o);
  if (!run) return undefined;
  const command = o.command ?? "deploy";
  const where = `${run.owner}/${run.repo} run ${run.runId}`;
  const approvals = await loadApprovals(o.config).catch((err: Error) => {
    throw new UsageError(`${command} for GitHub ${where} refused: ${err.message}; nothing was changed in the cluster`);
  });
  const token = o.env[o.tokenEnv];
  if (token) o.secret(token);
  const gh = gitHubClient({ apiUrl: apiUrlFrom(o.apiUrl, o.env), token: requireToken(o.env, o.tokenEnv) });
  o.say(`checking the two-person rule for ${where} on GitHub`);
  let checked;
  try {
    checked = await checkRunApprovals(gh, run, approvals.environments);
  } catch (err) {
    throw new UsageError(
      `${command} refused: could not check the approvals of ${where}: ${(err as Error).message}; nothing was changed in the cluster`,
    );
  }
  const mismatches = releaseRunMismatches(checked, approvals, o.tag);
  if (mismatches.length) {
    throw new UsageError(
      `${command} refused: GitHub ${where} is not this release's run, so its approvals do not count: ` +
        `${mismatches.join("; ")}; nothing was changed in the cluster`,
    );
  }
  if (!checked.verdict.satisfied) {
    throw new UsageError(`${command} refused, nothing was changed in the cluster: ${verdictToText(checked).trimEnd()}`);
  }
  o.say(verdictToText(checked).trimEnd());
  return approvalRecord(checked);
}
