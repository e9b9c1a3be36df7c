/**
 * Rollback from whatever state a release is in, back to invariant I4's resting state: all traffic on a healthy
 * stable running the previous version, canary at weight 0 and 0 replicas.
 *   - Before promotion (I2): weight 0 first, verified, within seconds; then the canary scaled to 0 (which also
 *     clears sticky sessions). Stable is never touched.
 *   - After promotion started (I3): stable put back on its own previous revision (its ReplicaSet, matched by owner
 *     and revision, as `kubectl rollout undo` does) and rolled out first; only then does traffic return to it
 *     (weight 0), then the canary goes to 0. Only promotion's own change is undone: a stable someone else changed
 *     meanwhile is left as they made it, and the rollback says who (stable-guard.ts).
 *   - A canary Deployment deleted meanwhile is a fact to report (no pod, weight 0), not a failure.
 * It runs under its own signal: the SIGTERM that cancelled the release must not cancel its rollback. That signal
 * is its deadline (rollbackDeadlineMs in plan.ts: weightVerified + scaleDown, plus stableRollout once promotion
 * started); past it, the rollback stops and says where production may stand and to run `release-gate rollback`.
 */
import { formatDuration } from "../config/duration.ts";
import { FailedError } from "../errors.ts";
import { describeApiError } from "../kube/api-errors.ts";
import { waitRolledOut } from "../health/wait-rollout.ts";
import { replicaSetOfRevision, restoreTemplate, templateOfReplicaSet } from "../kube/deployments.ts";
import { type RollbackResult, type Run, servicesOf } from "./context.ts";
import { corruptStateAdvice, StateOwnedError, stepLabelOf, type InFlightState } from "./journal.ts";
import { rollbackDeadlineMs, rollbackDeadlineTerms } from "./plan.ts";
import { stableState } from "./stable-guard.ts";
import { scale } from "./steps.ts";

export interface RollbackOptions {
  /** The in-flight state found could not be used (unreadable, or not matching release.yaml): why. */
  unreadable?: string;
}

export async function rollBack(run: Run, reason: string, opts: RollbackOptions = {}): Promise<RollbackResult> {
  const { kube, config, progress } = run.env;
  const ns = config.namespace;
  const state = run.journal.state!;
  const started = Date.now();
  // Its own deadline, from the config's (plan.ts): a stalled API must not hold production mixed for minutes
  // while the run seems alive. When it passes, the rollback stops and says where production may stand.
  const deadlineMs = rollbackDeadlineMs(config, state.promotionStarted);
  const expiry = new AbortController();
  const timer = setTimeout(() => expiry.abort(new Error(`rollback deadline of ${formatDuration(deadlineMs)} passed`)), deadlineMs);
  const signal = expiry.signal;
  const lastKnown = lastKnownPosition(state); // Before the journal says "rollback".
  const services = servicesOf(run);
  const stableReplicas = (name: string) => services.find((s) => s.name === name)?.stable.replicas ?? 1;
  let stage: RollbackStage = state.promotionStarted ? "restore-stable" : "weight-zero";
  let weightZeroMs: number | undefined;
  /** What the rollback found and worked around (a missing canary, someone else's change to stable), said in its detail. */
  const notes: string[] = [];
  const work = async (): Promise<RollbackResult> => {
    progress.step("rollback", 0);
    progress.warn(`rolling back: ${reason}`);
    if (opts.unreadable) progress.warn(`${corruptStateAdvice(opts.unreadable)}. Rolling back from the live objects now.`);
    // Best effort: repairing matters more than recording that it started; but a state another run owns now (or
    // deleted) means that run owns production: this one stops.
    await run.journal.rollingBack().catch((err: unknown) => {
      if (err instanceof StateOwnedError) throw err;
      progress.warn(`could not write the in-flight state: ${describeApiError(err)}`);
    });
    if (state.promotionStarted) {
      const restored: string[] = [];
      signal.throwIfAborted();
      await run.cluster.synced();
      for (const s of services) {
        const live = run.cluster.deployment(s.stable.deployment);
        if (!live) throw new FailedError(`Deployment ${ns}/${s.stable.deployment} does not exist: stable cannot be restored`);
        const previous = replicaSetOfRevision(live, run.cluster.replicaSets(), s.stable.revision);
        if (!previous) {
          throw new FailedError(
            `Deployment ${ns}/${s.stable.deployment} no longer has its ReplicaSet of revision ${s.stable.revision} (the one it ran before the release): ` +
              `put it back by hand (\`kubectl -n ${ns} rollout history deployment/${s.stable.deployment}\`, then \`kubectl rollout undo --to-revision=…\`)`,
          );
        }
        // Only promotion's own change is undone: someone else's (a hotfix by hand) is left as they made it.
        const is = stableState(run.cluster, s);
        if (is.kind === "changed") {
          notes.push(`stable was not restored over someone else's change: ${is.changed}`);
          progress.warn(`not restoring stable of ${s.name}: ${is.changed}`);
          continue;
        }
        if (is.kind === "promoted") {
          run.cluster.noteWrite(await restoreTemplate(kube, ns, s.stable.deployment, templateOfReplicaSet(previous)));
          restored.push(`${s.stable.deployment} to revision ${s.stable.revision}`);
        }
      }
      stage = "stable-rollout";
      progress.waiting(`stable restored to its previous revision (${restored.join(", ") || "already"}) and rolled out`);
      await Promise.all(
        services.map((s) =>
          waitRolledOut(run.cluster, {
            name: s.stable.deployment,
            timeoutMs: config.deadlines.stableRollout,
            ignoreStall: true,
            signal,
            onWaiting: (w) => progress.waiting(w),
          }),
        ),
      );
      stage = "weight-zero";
    }
    signal.throwIfAborted();
    await run.routing.setWeightVerified(0, stableReplicas, { timeoutMs: config.deadlines.weightVerified, signal });
    weightZeroMs = Date.now() - started;
    stage = "scale-down";
    progress.info(`weight 0 verified ${weightZeroMs} ms after the rollback started`);
    signal.throwIfAborted();
    for (const s of services.filter((x) => !run.cluster.deployment(x.canary.deployment))) {
      notes.push(`canary Deployment ${s.canary.deployment} does not exist (deleted): it has no pod, and its weight is 0`);
    }
    await Promise.all(services.map((s) => scale(run, s.canary.deployment, 0)));
    stage = "reset";
    signal.throwIfAborted();
    await Promise.all(run.routing.routers.map((r) => r.reset()));
    return {
      ok: true,
      weightZeroMs,
      restoredMs: Date.now() - started,
      detail:
        `${state.promotionStarted ? "stable's previous revision restored and rolled out, then " : ""}weight 0 verified, canary scaled to 0` +
        notes.map((n) => `; ${n}`).join("") +
        (opts.unreadable
          ? `; the in-flight state could not be used (${opts.unreadable}), so stable was left as it is: its previous revision is not known, check its image`
          : ""),
    };
  };
  const pastDeadline = (): RollbackResult => {
    const detail =
      `rollback did not finish within its deadline of ${formatDuration(deadlineMs)} (${rollbackDeadlineTerms(state.promotionStarted)}); ` +
      `it was ${STAGE_DOING[stage]}, so ${whereProductionMayStand(stage, lastKnown)}. Run \`release-gate rollback\` again once the Kubernetes API answers`;
    progress.warn(detail);
    return { ok: false, ...(weightZeroMs !== undefined ? { weightZeroMs } : {}), detail };
  };
  const running = work();
  running.catch(() => undefined); // Past the deadline its failure is not waited for (requests end by their own timeout).
  const deadline = new Promise<"deadline">((resolve) => signal.addEventListener("abort", () => resolve("deadline"), { once: true }));
  try {
    const result = await Promise.race([running, deadline]);
    if (result !== "deadline") return result;
    return pastDeadline();
  } catch (err) {
    if (err instanceof StateOwnedError) throw err; // Another run owns production: not a failed rollback, no rollback at all.
    // An operation that gave up because the deadline passed (its abort won the race): the same verdict.
    if (signal.aborted) return pastDeadline();
    const message = describeApiError(err);
    progress.warn(`rollback failed: ${message}`);
    return { ok: false, ...(weightZeroMs !== undefined ? { weightZeroMs } : {}), detail: `rollback failed: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}

type RollbackStage = "restore-stable" | "stable-rollout" | "weight-zero" | "scale-down" | "reset";

const STAGE_DOING: Record<RollbackStage, string> = {
  "restore-stable": "restoring stable's previous revision",
  "stable-rollout": "waiting for stable to roll out its previous revision",
  "weight-zero": "setting the canary weight to 0",
  "scale-down": "scaling the canary to 0 (weight 0 was verified)",
  reset: "removing the canary header routing (weight 0 verified, canary scaled to 0)",
};

function whereProductionMayStand(stage: RollbackStage, lastKnown: string): string {
  switch (stage) {
    case "restore-stable":
    case "stable-rollout":
      return `stable may be part-way back to its previous revision and the canary may still have its weight (last known: ${lastKnown})`;
    case "weight-zero":
      return `the canary may still receive user traffic (last known: ${lastKnown})`;
    case "scale-down":
      return "all user traffic is on stable, but canary pods may still run (sessions pinned to them may still reach them)";
    case "reset":
      return "all traffic is on stable and the canary is at 0; only the canary header route may be left";
  }
}

/** Where production may stand when a rollback could not finish: the last position the run itself recorded. */
export function lastKnownPosition(state: InFlightState): string {
  const step = state.step;
  const traffic =
    step.kind === "canary"
      ? `canary weight between ${state.passedWeight} and ${step.weight} %`
      : step.kind === "promote"
        ? "canary weight 100 or 0 %"
        : `canary weight up to ${state.passedWeight} %`;
  return `${traffic}, ${state.promotionStarted ? "stable possibly part-way to the new image" : "stable untouched"} (the run was at "${stepLabelOf(step)}")`;
}
