/**
 * Rollback from whatever state a release is in, back to invariant I4's resting state: all traffic on a healthy
 * stable running the previous version, canary at weight 0 and 0 replicas.
 *   - Before promotion (I2): weight 0 first, verified, within seconds; then the canary scaled to 0 (which also
 *     clears sticky sessions). Stable is never touched.
 *   - After promotion started (I3): stable's previous template restored and rolled out first; only then does
 *     traffic return to it (weight 0), then the canary goes to 0.
 * It runs under its own signal: the SIGTERM that cancelled the release must not cancel its rollback.
 */
import { FailedError } from "../errors.ts";
import { containerImage, restoreTemplate, scaleDeployment } from "../kube/deployments.ts";
import { waitRolledOut } from "../kube/rollout.ts";
import type { Release } from "./context.ts";
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
  const own: Release = { ...rel, signal: new AbortController().signal };
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
  let weightZeroMs: number | undefined;
  try {
    if (rel.state.promotionStarted) {
      const restored: string[] = [];
      await Promise.all(
        rel.state.services.map(async (s) => {
          const live = await kube.apps.readNamespacedDeployment({ name: s.stableDeployment, namespace: ns });
          if (containerImage(live, s.container) !== s.previousImage) {
            await restoreTemplate(kube, ns, s.stableDeployment, s.previousTemplate);
            restored.push(s.stableDeployment);
          }
        }),
      );
      progress.waiting(`stable restored to the previous template (${restored.join(", ") || "already"}) and rolled out`);
      await Promise.all(
        rel.state.services.map((s) =>
          waitRolledOut(kube, { namespace: ns, name: s.stableDeployment, timeoutMs: config.deadlines.stableRollout, ignoreStall: true, onWaiting: (w) => progress.waiting(w) }),
        ),
      );
    }
    await setWeightVerified(own, 0);
    weightZeroMs = Date.now() - started;
    progress.info(`weight 0 verified ${weightZeroMs} ms after the rollback started`);
    await Promise.all(rel.state.services.map((s) => scaleDeployment(kube, ns, s.canaryDeployment, 0)));
    await Promise.all(rel.routers.map((r) => r.reset()));
    const restoredMs = Date.now() - started;
    return {
      ok: true,
      weightZeroMs,
      restoredMs,
      detail:
        `${rel.state.promotionStarted ? "stable's previous template restored and rolled out, then " : ""}weight 0 verified, canary scaled to 0` +
        (unreadable ? `; the in-flight state was unreadable (${unreadable}), so stable was left as it is: its previous template is not known, check its image` : ""),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    progress.warn(`rollback failed: ${message}`);
    return { ok: false, ...(weightZeroMs !== undefined ? { weightZeroMs } : {}), detail: `rollback failed: ${message}` };
  }
}

/** Where production may stand when a rollback could not finish: the last position the run itself recorded. */
export function lastKnownPosition(state: InFlight): string {
  const weight = state.step.match(/^canary (\d+)%/)?.[1];
  const traffic = weight ? `canary weight between ${state.passedWeight} and ${weight} %` : state.step === "promote" ? "canary weight 100 or 0 %" : `canary weight up to ${state.passedWeight} %`;
  return `${traffic}, ${state.promotionStarted ? "stable possibly part-way to the new image" : "stable untouched"} (the run was at "${state.step}")`;
}

/** The error a failed release ends with: what failed, what was done, where production stands. */
export function releaseFailedError(tag: string, step: string, reason: string, result: RollbackResult, previous: string, lastKnown?: string): FailedError {
  const where = result.ok
    ? `Production now: all traffic on stable running ${previous}; canary at weight 0 and 0 replicas.`
    : `Production may be mixed: ${result.detail}${lastKnown ? `; last known: ${lastKnown}` : ""}. The in-flight state is kept (ConfigMap release-gate-state): once the API answers, run \`release-gate status\` then \`release-gate rollback\`.`;
  return new FailedError(`release of ${tag} failed at ${step}: ${reason}. ${result.ok ? `Rolled back automatically (${result.detail}).` : "Automatic rollback FAILED."} ${where}`);
}
