/**
 * Single steps for operators, with the same safety as deploy: `canary --weight W`, `promote`, and `rollback`
 * from any state back to invariant I4's resting state.
 */
import type { ReleaseRecord } from "../audit/record.ts";
import { FailedError, UsageError } from "../errors.ts";
import { ReleaseLock, renewIntervalMs } from "../kube/lease-lock.ts";
import { setContainerImage } from "../kube/deployments.ts";
import { finishStep, newStepRecord, type PipelineEnv, type Release } from "./context.ts";
import { buildRouters, readProduction } from "./production.ts";
import { finalizeRecord } from "./record-release.ts";
import { failAndRollBack, newInFlight, newRecord, preflight, recordDigests, describeInFlight } from "./release.ts";
import { rollBack } from "./rollback.ts";
import { runCanaryStep, runPromoteStep } from "./steps.ts";
import { clearInFlight, readInFlight, writeInFlight, type InFlight } from "./state.ts";

export interface CanaryRequest {
  tag: string;
  weight: number;
  signal?: AbortSignal;
}

export async function canary(env: PipelineEnv, req: CanaryRequest): Promise<ReleaseRecord> {
  if (!Number.isInteger(req.weight) || req.weight < 1 || req.weight > 100)
    throw new UsageError(`--weight must be an integer from 1 to 100, got ${req.weight}; nothing was changed`);
  const pre = await preflight(env, req.tag, { allowInFlight: true, ...(req.signal ? { signal: req.signal } : {}) });
  const { kube, config } = env;
  const ns = config.namespace;
  try {
    if (pre.inFlight && pre.inFlight.tag !== req.tag) {
      throw new UsageError(`refused: ${describeInFlight(pre.inFlight)} is in flight; promote or roll it back first; nothing was changed`);
    }
    const record = newRecord(env, "canary", req.tag, pre.inFlight?.services ?? pre.services);
    const state: InFlight = pre.inFlight ?? newInFlight(record, pre.lock.identity, pre.services);
    const rel: Release = { env, routers: pre.routers, state, suites: pre.suites, signal: pre.signal };
    const label = `canary ${req.weight}%`;
    const rec = newStepRecord(label, req.weight);
    record.steps.push(rec);
    state.step = label;
    try {
      await writeInFlight(kube, ns, state);
      if (!pre.inFlight) {
        for (const r of rel.routers) await r.prepare();
        await Promise.all(state.services.map((s) => setContainerImage(kube, ns, s.canaryDeployment, s.container, s.newImage)));
      }
      env.progress.step(label, req.weight);
      await runCanaryStep(
        rel,
        { kind: "canary", weight: req.weight, observeMs: 0, directSmoke: state.passedWeight === 0 && config.router.kind !== "replicas" },
        rec,
      );
      finishStep(rec, "passed");
    } catch (err) {
      finishStep(rec, "failed", err instanceof Error ? err.message : String(err));
      throw await failAndRollBack(rel, record, label, err);
    }
    state.step = `${label} (held for the operator)`;
    await writeInFlight(kube, ns, state);
    record.finalState = `canary of ${req.tag} at weight ${req.weight}, release in flight: next \`promote --tag ${req.tag}\` (after weight 100) or \`rollback\``;
    return await finalizeRecord(rel, record);
  } finally {
    pre.lock.stopRenewing();
    await pre.lock.release().catch(() => undefined);
  }
}

export async function promote(env: PipelineEnv, req: { tag: string; signal?: AbortSignal }): Promise<ReleaseRecord> {
  const pre = await preflight(env, req.tag, { allowInFlight: true, ...(req.signal ? { signal: req.signal } : {}) });
  const { kube, config } = env;
  const ns = config.namespace;
  try {
    const state = pre.inFlight;
    // I3: stable changes only after the canary passed at 100 %.
    if (!state || state.tag !== req.tag || state.passedWeight < 100) {
      throw new UsageError(
        `refused: promote needs the canary of ${req.tag} to have passed at weight 100 (${state ? describeInFlight(state) : "no release is in flight"}); run \`canary --tag ${req.tag} --weight 100\` first; nothing was changed`,
      );
    }
    const record = newRecord(env, "promote", req.tag, state.services);
    const rel: Release = { env, routers: pre.routers, state, suites: pre.suites, signal: pre.signal };
    const rec = newStepRecord("promote");
    record.steps.push(rec);
    state.step = "promote";
    try {
      env.progress.step("promote", 100);
      await runPromoteStep(rel, rec, { skipCanary: false });
      finishStep(rec, "passed");
      for (const r of rel.routers) await r.reset();
    } catch (err) {
      finishStep(rec, "failed", err instanceof Error ? err.message : String(err));
      throw await failAndRollBack(rel, record, "promote", err);
    }
    await recordDigests(rel, record);
    await clearInFlight(kube, ns, state.id);
    return await finalizeRecord(rel, record);
  } finally {
    pre.lock.stopRenewing();
    await pre.lock.release().catch(() => undefined);
  }
}

/**
 * Back to the resting state from anything: an interrupted release (state in the cluster), a held canary, or
 * nothing recorded at all (then weight 0 and canary 0 are enforced anyway). Takes the lock over from a run that
 * stopped renewing it (dead); a live run is refused unless `force` (that run then stops without touching
 * production, at its next renewal: this waits for it). `lock`: already held by the caller (deploy --repair),
 * which keeps it.
 */
export async function rollback(env: PipelineEnv, req: { reason?: string; force?: boolean; lock?: ReleaseLock }): Promise<ReleaseRecord> {
  const { kube, config } = env;
  const ns = config.namespace;
  const routers = buildRouters(kube, config);
  const lock =
    req.lock ??
    (await ReleaseLock.acquire(kube, ns, {
      identity: env.identity,
      ttlMs: config.lock.ttl,
      takeOverStale: true,
      ...(req.force ? { force: true } : {}),
    }));
  try {
    const was = lock.takenOverFrom;
    if (!req.lock && was) {
      env.progress.warn(
        `took the release lock over from ${was.holder} (last renewed ${((was.renewedAgoMs ?? 0) / 1000).toFixed(1)} s ago${was.stale ? "" : ", alive: --force"})`,
      );
      if (!was.stale) {
        // It notices at its next renewal and stops without touching production; wait for that before acting.
        const wait = 2 * renewIntervalMs(Date.parse(was.expiresAt ?? "") - Date.parse(was.renewedAt ?? "") || config.lock.ttl);
        env.progress.waiting(`${(wait / 1000).toFixed(1)} s for ${was.holder} to see the takeover and stop`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    const inFlight = await readInFlight(kube, ns);
    const services = inFlight?.services ?? (await readProduction(kube, config, undefined));
    const record = newRecord(env, "rollback", inFlight?.tag ?? "(none in flight)", services);
    const state: InFlight = inFlight ?? {
      id: record.id,
      tag: record.tag,
      holder: lock.identity,
      startedAt: record.startedAt,
      step: "rollback",
      passedWeight: 0,
      promotionStarted: false,
      services,
      record,
      updatedAt: record.startedAt,
    };
    const rel: Release = { env, routers, state, suites: new Map(), signal: new AbortController().signal };
    const reason = [req.reason?.trim() || "operator rollback", inFlight ? `interrupted ${describeInFlight(inFlight)}` : undefined]
      .filter(Boolean)
      .join("; ");
    const rec = newStepRecord("rollback", 0);
    record.steps.push(rec);
    const result = await rollBack(rel, reason);
    finishStep(
      rec,
      result.ok ? "passed" : "failed",
      `${result.detail}${result.weightZeroMs !== undefined ? `; weight 0 after ${result.weightZeroMs} ms` : ""}`,
    );
    record.outcome = result.ok ? "rolled-back" : "rollback-failed";
    record.rollbackReason = reason;
    record.rollbackTimings = {
      ...(result.weightZeroMs !== undefined ? { weightZeroMs: result.weightZeroMs } : {}),
      ...(result.restoredMs !== undefined ? { restoredMs: result.restoredMs } : {}),
    };
    if (result.ok) await clearInFlight(kube, ns, state.id);
    const final = await finalizeRecord(rel, record);
    if (!result.ok) {
      const error = new FailedError(
        `${result.detail}. Production may be mixed; the in-flight state is kept, run \`release-gate status\` and retry \`release-gate rollback\``,
      );
      (error as Error & { record?: ReleaseRecord }).record = final;
      throw error;
    }
    return final;
  } finally {
    if (!req.lock) await lock.release().catch(() => undefined);
  }
}
