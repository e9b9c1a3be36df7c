/**
 * Tying a run's approvals to the release in hand: approvals count only for the run the release executes in. Without
 * this, any old approved run (another workflow's, a finished one, one started from a branch) could be named with
 * --github-run and its approvers recorded for a release they never saw.
 */
import type { ApprovalsConfig } from "../config/schema.ts";
import type { RunApprovals } from "./approvals.ts";

/** The event of a run started by hand (Actions → Run workflow); the production workflow has no other trigger. */
export const RELEASE_EVENT = "workflow_dispatch";
/** A release runs inside the run it was approved in, so that run is still going. */
export const RELEASE_STATUS = "in_progress";

/**
 * What about the run does not match the release (empty: it is this release's run), each naming found and expected.
 * `tag`: the tag being released; the run's title (the workflow's `run-name: deploy <tag>`) must name it as a word,
 * so a run approved for one tag cannot lend its approvals to another while it is still going.
 */
export function releaseRunMismatches(
  run: Pick<RunApprovals, "status" | "workflowPath" | "event" | "headBranch" | "displayTitle">,
  approvals: Pick<ApprovalsConfig, "workflow" | "branch">,
  tag?: string,
): string[] {
  const found = (v: string | undefined) => (v === undefined ? "not reported" : JSON.stringify(v));
  const out: string[] = [];
  if (run.status !== RELEASE_STATUS)
    out.push(`its status is ${found(run.status)}, not "${RELEASE_STATUS}" (a release runs inside the run that approved it)`);
  if (run.workflowPath !== approvals.workflow)
    out.push(`its workflow is ${found(run.workflowPath)}, not "${approvals.workflow}" (release.yaml approvals.workflow)`);
  if (run.event !== RELEASE_EVENT) out.push(`its event is ${found(run.event)}, not "${RELEASE_EVENT}" (started by hand)`);
  if (run.headBranch !== approvals.branch)
    out.push(`its branch is ${found(run.headBranch)}, not "${approvals.branch}" (release.yaml approvals.branch)`);
  if (tag !== undefined && !(run.displayTitle ?? "").split(/\s+/).includes(tag)) {
    out.push(
      `its title is ${found(run.displayTitle)}, which does not name ${tag} ` +
        "(the production workflow's run-name names the tag it was dispatched for and approved)",
    );
  }
  return out;
}
