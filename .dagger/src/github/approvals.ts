/**
 * Checking a workflow run against the two-person rule through GitHub's API: the run (who started it, which
 * attempt, its page, what it is) and its approvals, then the pure rule in approval-rule.ts.
 */
import type { ApprovalRecord } from "../audit/record.ts";
import { evaluateApprovals, type ApprovalEnvironment, type ApprovalVerdict, type RunApproval } from "./approval-rule.ts";
import type { GitHub } from "./client.ts";
import type { RunRef } from "./repo.ts";

export interface RunApprovals {
  run: RunRef;
  actor?: string;
  triggeringActor?: string;
  runUrl: string;
  runAttempt?: number;
  /** What the run is, for tying its approvals to one release (deploy-gate.ts): GitHub's own fields. */
  status?: string;
  workflowPath?: string;
  event?: string;
  headBranch?: string;
  /** The run's title: the production workflow's run-name says which tag it was dispatched for. */
  displayTitle?: string;
  verdict: ApprovalVerdict;
}

export async function checkRunApprovals(gh: GitHub, run: RunRef, environments: ApprovalEnvironment[]): Promise<RunApprovals> {
  const where = `${run.owner}/${run.repo} run ${run.runId}`;
  const { owner, repo, runId: run_id } = run;
  const info = await gh.call(`workflow run ${where}`, (request) =>
    gh.octokit.rest.actions.getWorkflowRun({ owner, repo, run_id, request }),
  );
  const approvals = await gh.call(`the approvals of ${where}`, (request) =>
    gh.octokit.rest.actions.getReviewsForRun({ owner, repo, run_id, request }),
  );
  const actor = info.actor?.login;
  const triggeringActor = info.triggering_actor?.login;
  return {
    run,
    ...(actor ? { actor } : {}),
    ...(triggeringActor ? { triggeringActor } : {}),
    runUrl: info.html_url,
    ...(info.run_attempt !== undefined ? { runAttempt: info.run_attempt } : {}),
    ...(info.status ? { status: info.status } : {}),
    ...(info.path ? { workflowPath: info.path } : {}),
    ...(info.event ? { event: info.event } : {}),
    ...(info.head_branch ? { headBranch: info.head_branch } : {}),
    ...(info.display_title ? { displayTitle: info.display_title } : {}),
    verdict: evaluateApprovals(
      environments,
      { ...(actor ? { actor } : {}), ...(triggeringActor ? { triggeringActor } : {}) },
      approvals as RunApproval[],
    ),
  };
}

/** What goes into the release record once the rule is satisfied. */
export function approvalRecord(r: RunApprovals): ApprovalRecord {
  return {
    source: "github",
    approvers: r.verdict.approvers,
    ...(r.actor ? { actor: r.actor } : {}),
    ...(r.triggeringActor ? { triggeringActor: r.triggeringActor } : {}),
    runUrl: r.runUrl,
    ...(r.runAttempt !== undefined ? { runAttempt: r.runAttempt } : {}),
    checkedAt: new Date().toISOString(),
  };
}

export function verdictToText(r: RunApprovals): string {
  const run = `run ${r.run.runId}${r.runAttempt ? ` (attempt ${r.runAttempt})` : ""} of ${r.run.owner}/${r.run.repo}`;
  const starters =
    `started by ${r.triggeringActor ?? r.actor ?? "?"}` +
    `${r.actor && r.triggeringActor && r.actor !== r.triggeringActor ? ` (actor ${r.actor})` : ""}`;
  if (r.verdict.satisfied) {
    return (
      [
        `two-person rule satisfied for ${run}, ${starters}:`,
        ...r.verdict.approvers.map((a) => `  ${a.environment}: approved by ${a.login}`),
        `  ${r.runUrl}`,
      ].join("\n") + "\n"
    );
  }
  return (
    [
      `two-person rule NOT satisfied for ${run}, ${starters}:`,
      "  found:",
      ...r.verdict.found.map((f) => `    ${f}`),
      "  missing:",
      ...r.verdict.problems.map((p) => `    ${p}`),
      `  ${r.runUrl}`,
    ].join("\n") + "\n"
  );
}
