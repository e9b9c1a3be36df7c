/**
 * Rollback from whatever state a release is in, back to invariant I4's resting state: all traffic on a healthy
 * stable running the previous version, canary at weight 0 and 0 replicas.
 *   - Before promotion (I2): weight 0 first, verified, within seconds; then the canary scaled to 0 (which also
 *     clears sticky sessions). Stable is never touched.
 *   - After promotion started (I3): stable's previous template restored and rolled out first; only then does
 *     traffic return to it (weight 0), then the canary goes to 0.
 * It runs under its own signal: the SIGTERM that cancelled the release must not cancel its rollback. That signal
 * is its deadline (rollbackDeadlineMs in plan.ts: weightVerified + scaleDown, plus stableRollout once promotion
 * started); past it, the rollback stops and says where production may stand and to run `release-gate rollback`.
 */
import { formatDuration } from "../config/duration.ts";
import { FailedError } from "../errors.ts";
import { containerImage, restoreTemplate, scaleDeployment } from "../kube/deployments.ts";
import { waitRolledOut } from "../kube/rollout.ts";
import type { Release } from "./context.ts";
import { rollbackDeadlineMs, rollbackDeadlineTerms } from "./plan.ts";
import { setWeightVerified } from "./shift-traffic.ts";
import { corruptStateAdvice, inspectInFlight, writeInFlight, type InFlight } from "./state.ts";

export interface RollbackResult {
  ok: boolean;
  /** From the start of the rollback to weight 0 verified. */
  weightZeroMs?: number;
  /** From the start of the rollback to the resting state. */
  restoredMs?: number;
  detail: string;
}

export async function rollBack(rel: Release, reason: string): Promise<RollbackResult> {
  const { kube, config, progress } = rel.env;
  const ns = config.namespace;
  const started = Date.now();
  // Its own deadline, from the config's (plan.ts): a stalled API must not hold production mixed for minutes
  // while the run seems alive. When it passes, the rollback stops and says where production may stand.
  const deadlineMs = rollbackDeadlineMs(config, rel.state.promotionStarted);
  const expiry = new AbortController();
  const timer = setTimeout(() => expiry.abort(new Error(`rollback deadline of ${formatDuration(deadlineMs)} passed`)), deadlineMs);
  const own: Release = { ...rel, signal: expiry.signal };
  const lastKnown = lastKnownPosition(rel.state); // Before the state says "rollback".
  let stage: RollbackStage = rel.state.promotionStarted ? "restore-stable" : "weight-zero";
  let weightZeroMs: number | undefined;
  const work = async (): Promise<RollbackResult> => {
    progress.step("rollback", 0);
    progress.warn(`rolling back: ${reason}`);
    // `rollback` with nothing readable recorded (operator.ts builds a state from the live objects): say plainly when
    // that is because the state ConfigMap is corrupt, since then stable's previous template is unknown. Checked
    // only on that path, so an automatic rollback never waits for an extra read.
    let unreadable: string | undefined;
    if (rel.state.record.command === "rollback" && !rel.state.promotionStarted) {
      const stored = await inspectInFlight(kube, ns).catch(() => undefined);
      if (stored?.kind === "corrupt") {
        unreadable = stored.reason;
        progress.warn(`${corruptStateAdvice(stored.reason)}. Rolling back from the live objects now.`);
      }
    }
    rel.state.step = "rollback";
    await writeInFlight(kube, ns, rel.state).catch(() => undefined); // Best effort: repairing matters more.
    if (rel.state.promotionStarted) {
      const restored: string[] = [];
      own.signal.throwIfAborted();
      await Promise.all(
        rel.state.services.map(async (s) => {
          const live = await kube.apps.readNamespacedDeployment({ name: s.stableDeployment, namespace: ns });
          if (containerImage(live, s.container) !== s.previousImage) {
            await restoreTemplate(kube, ns, s.stableDeployment, s.previousTemplate);
            restored.push(s.stableDeployment);
          }
        }),
      );
      stage = "stable-rollout";
      progress.waiting(`stable restored to the previous template (${restored.join(", ") || "already"}) and rolled out`);
      await Promise.all(
        rel.state.services.map((s) =>
          waitRolledOut(kube, {
            namespace: ns,
            name: s.stableDeployment,
            timeoutMs: config.deadlines.stableRollout,
            ignoreStall: true,
            signal: own.signal,
            onWaiting: (w) => progress.waiting(w),
          }),
        ),
      );
      stage = "weight-zero";
    }
    own.signal.throwIfAborted();
    await setWeightVerified(own, 0, own.signal);
    weightZeroMs = Date.now() - started;
    stage = "scale-down";
    progress.info(`weight 0 verified ${weightZeroMs} ms after the rollback started`);
    own.signal.throwIfAborted();
    await Promise.all(rel.state.services.map((s) => scaleDeployment(kube, ns, s.canaryDeployment, 0)));
    stage = "reset";
    own.signal.throwIfAborted();
    await Promise.all(rel.routers.map((r) => r.reset()));
    const restoredMs = Date.now() - started;
    return {
      ok: true,
      weightZeroMs,
      restoredMs,
      detail:
        `${rel.state.promotionStarted ? "stable's previous template restored and rolled out, then " : ""}weight 0 verified, canary scaled to 0` +
        (unreadable
          ? `; the in-flight state was unreadable (${unreadable}), so stable was left as it is: its previous template is not known, check its image`
          : ""),
    };
  };
  const pastDeadline = (): RollbackResult => {
    const detail =
      `rollback did not finish within its deadline of ${formatDuration(deadlineMs)} (${rollbackDeadlineTerms(rel.state.promotionStarted)}); ` +
      `it was ${STAGE_DOING[stage]}, so ${whereProductionMayStand(stage, lastKnown)}. Run \`release-gate rollback\` again once the Kubernetes API answers`;
    progress.warn(detail);
    return { ok: false, ...(weightZeroMs !== undefined ? { weightZeroMs } : {}), detail };
  };
  const running = work();
  running.catch(() => undefined); // Past the deadline its failure is not waited for (requests end by their own timeout).
  const deadline = new Promise<"deadline">((resolve) => expiry.signal.addEventListener("abort", () => resolve("deadline"), { once: true }));
  try {
    const result = await Promise.race([running, deadline]);
    if (result !== "deadline") return result;
    return pastDeadline();
  } catch (err) {
    // An operation that gave up because the deadline passed (its abort won the race): the same verdict.
    if (expiry.signal.aborted) return pastDeadline();
    const message = err instanceof Error ? err.message : String(err);
    progress.warn(`rollback failed: ${message}`);
    return { ok: false, ...(weightZeroMs !== undefined ? { weightZeroMs } : {}), detail: `rollback failed: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}

type RollbackStage = "restore-stable" | "stable-rollout" | "weight-zero" | "scale-down" | "reset";

const STAGE_DOING: Record<RollbackStage, string> = {
  "restore-stable": "restoring stable's previous pod template",
  "stable-rollout": "waiting for stable to roll out its previous template",
  "weight-zero": "setting the canary weight to 0",
  "scale-down": "scaling the canary to 0 (weight 0 was verified)",
  reset: "removing the canary header routing (weight 0 verified, canary scaled to 0)",
};

function whereProductionMayStand(stage: RollbackStage, lastKnown: string): string {
  switch (stage) {
    case "restore-stable":
    case "stable-rollout":
      return `stable may be part-way back to its previous template and the canary may still have its weight (last known: ${lastKnown})`;
    case "weight-zero":
      return `the canary may still receive user traffic (last known: ${lastKnown})`;
    case "scale-down":
      return "all user traffic is on stable, but canary pods may still run (sessions pinned to them may still reach them)";
    case "reset":
      return "all traffic is on stable and the canary is at 0; only the canary header route may be left";
  }
}

/** Where production may stand when a rollback could not finish: the last position the run itself recorded. */
export function lastKnownPosition(state: InFlight): string {
  const weight = state.step.match(/^canary (\d+)%/)?.[1];
  const traffic = weight
    ? `canary weight between ${state.passedWeight} and ${weight} %`
    : state.step === "promote"
      ? "canary weight 100 or 0 %"
      : `canary weight up to ${state.passedWeight} %`;
  return `${traffic}, ${state.promotionStarted ? "stable possibly part-way to the new image" : "stable untouched"} (the run was at "${state.step}")`;
}

/** The error a failed release ends with: what failed, what was done, where production stands. */
export function releaseFailedError(
  tag: string,
  step: string,
  reason: string,
  result: RollbackResult,
  previous: string,
  lastKnown?: string,
): FailedError {
  const where = result.ok
    ? `Production now: all traffic on stable running ${previous}; canary at weight 0 and 0 replicas.`
    : `Production may be mixed: ${result.detail}${lastKnown && !result.detail.includes("last known") ? `; last known: ${lastKnown}` : ""}. The in-flight state is kept (ConfigMap release-gate-state): once the API answers, run \`release-gate status\` then \`release-gate rollback\`.`;
  return new FailedError(
    `release of ${tag} failed at ${step}: ${reason}. ${result.ok ? `Rolled back automatically (${result.detail}).` : "Automatic rollback FAILED."} ${where}`,
  );
}
