/**
 * The phase machine. Preflight (read-only checks, then the lock), the plan's steps in order (phases as data
 * from release.yaml), promote, record. Any failure or cancellation (SIGTERM, lost lock) rolls back; every
 * run ends with a record. The in-flight state in the cluster is rewritten before each step (I5).
 */
import { randomUUID } from "node:crypto";
import { preflightAnalysis } from "../analysis/index.ts";
import type { ReleaseRecord, ServiceOutcome } from "../audit/record.ts";
import { formatDuration } from "../config/duration.ts";
import { parseVersion } from "../config/image-ref.ts";
import { FailedError, UsageError } from "../errors.ts";
import { ReleaseLock, takenOverBy } from "../kube/lease-lock.ts";
import { runningDigest, setContainerImage } from "../kube/deployments.ts";
import { loadSuite, type Suite } from "../smoke/index.ts";
import { newStepRecord, finishStep, type PipelineEnv, type Release } from "./context.ts";
import { assertWithinBudget, planRelease } from "./plan.ts";
import { buildRouters, readProduction } from "./production.ts";
import { finalizeRecord } from "./record-release.ts";
import { lastKnownPosition, releaseFailedError, rollBack } from "./rollback.ts";
import { markResumed, resumePoint, verifyLiveState, type ResumedRecord } from "./resume.ts";
import { runCanaryStep, runPromoteStep } from "./steps.ts";
import {
  clearInFlight,
  corruptStateAdvice,
  inspectInFlight,
  readInFlight,
  StateOwnedError,
  writeInFlight,
  type InFlight,
  type ServiceBefore,
} from "./state.ts";

export interface DeployRequest {
  tag: string;
  skipCanary?: boolean;
  reason?: string;
  /** Roll back an interrupted release first, then deploy. */
  repair?: boolean;
  /** Continue the interrupted release of the same tag from the step it stopped in (resume.ts). */
  resume?: boolean;
  signal?: AbortSignal;
}

async function loadSuites(env: PipelineEnv): Promise<Map<string, Suite | undefined>> {
  const out = new Map<string, Suite | undefined>();
  for (const s of env.config.services) out.set(s.name, s.smoke.suite ? await loadSuite(s.smoke.suite) : undefined);
  return out;
}

export function newRecord(env: PipelineEnv, command: ReleaseRecord["command"], tag: string, services: ServiceBefore[]): ReleaseRecord {
  return {
    id: randomUUID(),
    command,
    namespace: env.config.namespace,
    tag,
    triggeredBy: env.triggeredBy,
    ...(env.deployedAs ? { deployedAs: env.deployedAs } : {}),
    ...(env.approval ? { approval: env.approval } : {}),
    ...(env.ciRun ? { ciRun: env.ciRun } : {}),
    startedAt: new Date().toISOString(),
    outcome: "succeeded",
    services: services.map((s): ServiceOutcome => ({ name: s.name, previousImage: s.previousImage, newImage: s.newImage })),
    steps: [],
  };
}

/** The in-flight state of a run that has just taken the lock: written before its first step (I5). */
export function newInFlight(record: ReleaseRecord, holder: string, services: ServiceBefore[]): InFlight {
  return {
    id: record.id,
    tag: record.tag,
    holder,
    startedAt: record.startedAt,
    step: "preflight",
    passedWeight: 0,
    promotionStarted: false,
    services,
    record,
    updatedAt: record.startedAt,
  };
}

/** Describe an interrupted release for refusals and `status`. */
export function describeInFlight(s: InFlight): string {
  return `release ${s.tag} (started ${s.startedAt} by ${s.record.triggeredBy}) stopped at "${s.step}" (last update ${s.updatedAt}; ${s.promotionStarted ? "stable was being changed" : "stable untouched"}, highest passed weight ${s.passedWeight})`;
}

/**
 * Read-only checks (tag valid, plan within budget, everything named exists), then the lock, then, under the
 * lock, the check for an interrupted release (`repair`: rolled back here, under this run's lock) and what
 * production runs now, read again so the recorded previous template cannot be stale. Any refusal is a
 * UsageError thrown before anything in the cluster changed (the lock is given back first).
 */
export async function preflight(
  env: PipelineEnv,
  tag: string,
  opts: { skipCanary?: boolean; signal?: AbortSignal; allowInFlight?: boolean; takeOverStale?: boolean; repair?: boolean },
) {
  const version = parseVersion(tag);
  assertWithinBudget(planRelease(env.config, { skipCanary: opts.skipCanary ?? false }));
  const routers = buildRouters(env.kube, env.config);
  // Read before the lock only to refuse bad input without a write; what is recorded is read again under the lock.
  await readProduction(env.kube, env.config, version);
  for (const r of routers) await r.preflight();
  const suites = await loadSuites(env);
  const lock = await ReleaseLock.acquire(env.kube, env.config.namespace, {
    identity: env.identity,
    ttlMs: env.config.lock.ttl,
    ...(opts.takeOverStale ? { takeOverStale: true } : {}),
  });
  if (lock.takenOverFrom)
    env.progress.warn(
      `took the release lock over from ${lock.takenOverFrom.holder} (it had not renewed it for ${((lock.takenOverFrom.renewedAgoMs ?? 0) / 1000).toFixed(1)} s)`,
    );
  // The run stops when the lock is lost: taken over (without touching production), or renewals failing.
  const lost = lock.startRenewing();
  let inFlight: InFlight | undefined;
  let services: ServiceBefore[];
  try {
    const stored = await inspectInFlight(env.kube, env.config.namespace);
    inFlight = stored.kind === "ok" ? stored.state : undefined;
    if (stored.kind === "corrupt" && !opts.repair) {
      // Unreadable is not "nothing in flight": a release may have died mid-way (I5).
      throw new UsageError(
        `refused: ${corruptStateAdvice(stored.reason)}; or \`deploy --repair\` to do that and then deploy; nothing was changed`,
      );
    }
    if ((inFlight || stored.kind === "corrupt") && opts.repair) {
      // Imported here: operator.ts builds on this module, so a static import would be circular.
      const { rollback } = await import("./operator.ts");
      await rollback(env, { reason: `repair before deploying ${tag}`, lock });
      inFlight = undefined;
    }
    services = await readProduction(env.kube, env.config, version);
    if (inFlight && !opts.allowInFlight) {
      throw new UsageError(
        `refused: an interrupted ${describeInFlight(inFlight)}. Run \`release-gate rollback\` to repair production, \`release-gate deploy --tag ${inFlight.tag} --resume\` to continue it, or \`deploy --repair\` to roll it back and deploy; nothing was changed`,
      );
    }
    if (!inFlight) await assertAtRest(env, routers);
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw err;
  }
  const signal = opts.signal ? AbortSignal.any([opts.signal, lost]) : lost;
  return { version, routers, services, suites, lock, signal, inFlight };
}

/**
 * With no release in flight, production must be at rest (canary weight 0, canary at 0 replicas): anything else
 * was changed by hand, and a release on top of it would start from a state nobody recorded.
 */
async function assertAtRest(env: PipelineEnv, routers: Release["routers"]): Promise<void> {
  const { kube, config } = env;
  const weights = await Promise.all(routers.map((r) => r.getWeight()));
  const canaries = await Promise.all(
    config.services.map((s) => kube.apps.readNamespacedDeployment({ name: s.canary.deployment, namespace: config.namespace })),
  );
  const busy = canaries.filter((d) => (d.spec?.replicas ?? 0) > 0).map((d) => `${d.metadata?.name} has ${d.spec?.replicas} replicas`);
  if (weights.some((w) => w !== 0)) busy.unshift(`canary weight is ${weights.join("/")}`);
  if (busy.length) {
    throw new UsageError(
      `refused: production is not at rest (${busy.join(", ")}) and no release is recorded in flight; run \`release-gate rollback\` to return to rest first; nothing was changed`,
    );
  }
}

function reasonOf(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const r = signal.reason;
    return `cancelled: ${r instanceof Error ? r.message : String(r ?? "aborted")}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** `deploy`: the whole release. Resolves with the record on success; throws FailedError after a rollback. */
export async function deploy(env: PipelineEnv, req: DeployRequest): Promise<ReleaseRecord> {
  if (req.skipCanary && !req.reason?.trim()) {
    throw new UsageError("--skip-canary needs --reason (it is recorded with the release); nothing was changed in the cluster");
  }
  if (req.resume && req.repair) {
    throw new UsageError(
      "--resume and --repair exclude each other: --resume continues the interrupted release, --repair rolls it back and starts over; nothing was changed",
    );
  }
  if (req.resume && req.skipCanary) {
    throw new UsageError(
      "--resume follows the interrupted release's own plan (with or without canary, as recorded): drop --skip-canary; nothing was changed",
    );
  }
  if (req.resume) return resume(env, req);
  const pre = await preflight(env, req.tag, {
    skipCanary: req.skipCanary ?? false,
    ...(req.repair ? { repair: true, takeOverStale: true } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const { lock, signal } = pre;
  const record = newRecord(env, "deploy", req.tag, pre.services);
  if (req.skipCanary) record.skipCanary = { reason: req.reason!.trim() };
  const state = newInFlight(record, lock.identity, pre.services);
  const rel: Release = { env, routers: pre.routers, state, suites: pre.suites, signal };
  try {
    if (pre.services.every((s) => s.previousImage === s.newImage)) {
      env.progress.info(`stable already runs ${req.tag} for every service: nothing to release`);
      record.outcome = "no-change";
      return await finalizeRecord(rel, record);
    }
    return await runPlan(rel, record, { skipCanary: req.skipCanary ?? false, startIndex: 0 });
  } finally {
    lock.stopRenewing();
    await lock.release().catch((err: Error) => env.progress.warn(`could not release the lock (it expires by itself): ${err.message}`));
  }
}

/**
 * `deploy --resume`: take the lock over from the dead run, check the live objects against its record, then
 * redo the step it stopped in and run the rest of the plan (resume.ts says what may be resumed and why).
 */
async function resume(env: PipelineEnv, req: DeployRequest): Promise<ReleaseRecord> {
  const { kube, config, progress } = env;
  const earlier = await readInFlight(kube, config.namespace);
  const skipCanary = Boolean(earlier?.record?.skipCanary);
  const plan = planRelease(config, { skipCanary });
  const startIndex = resumePoint(earlier, req.tag, plan);
  const pre = await preflight(env, req.tag, {
    skipCanary,
    allowInFlight: true,
    takeOverStale: true,
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const { lock } = pre;
  try {
    const state = pre.inFlight;
    if (!state || state.id !== earlier!.id) {
      throw new UsageError(
        `refused: the interrupted release changed while --resume was starting (${state ? describeInFlight(state) : "it was repaired meanwhile"}); run \`release-gate status\`; nothing was changed`,
      );
    }
    const checked = await verifyLiveState(env, pre.routers, state, plan, startIndex, skipCanary);
    const record: ResumedRecord = newRecord(env, "deploy", req.tag, state.services);
    markResumed(record, state, checked);
    progress.info(
      `resuming release ${state.tag} of ${state.holder} at "${plan.steps[startIndex].label}" (redone from its start); checked live: ${checked.join(", ")}`,
    );
    const resumed: InFlight = { ...state, id: record.id, holder: lock.identity, startedAt: record.startedAt, record };
    await writeInFlight(kube, config.namespace, resumed, { replacing: state.id });
    const rel: Release = { env, routers: pre.routers, state: resumed, suites: pre.suites, signal: pre.signal };
    return await runPlan(rel, record, { skipCanary, startIndex });
  } finally {
    lock.stopRenewing();
    await lock.release().catch((err: Error) => env.progress.warn(`could not release the lock (it expires by itself): ${err.message}`));
  }
}

/** Run the plan's steps from `startIndex` (0: the whole plan, with the canary's preparation), then tidy up and record. */
async function runPlan(rel: Release, record: ReleaseRecord, opts: { skipCanary: boolean; startIndex: number }): Promise<ReleaseRecord> {
  const { env, state } = rel;
  const { kube, config, progress } = env;
  const ns = config.namespace;
  const plan = planRelease(config, { skipCanary: opts.skipCanary });
  progress.info(
    `plan: ${plan.steps.map((s) => s.label).join(" → ")}; worst case ${formatDuration(plan.worstCaseMs)} of a ${formatDuration(plan.budgetMs)} budget`,
  );
  // Metric analysis: every query once before the canary gets traffic; a refusal is a UsageError, nothing changed yet.
  if (plan.steps.slice(opts.startIndex).some((s) => s.step.kind === "canary" && s.step.observeMs > 0)) {
    await preflightAnalysis(env, { services: state.services.map((s) => s.name), signal: rel.signal });
  }
  let current = state.step;
  try {
    await writeInFlight(kube, ns, state);
    if (!opts.skipCanary && opts.startIndex === 0) {
      for (const r of rel.routers) await r.prepare();
      // The canary gets the new image while at 0 replicas: no pod, no traffic yet.
      await Promise.all(state.services.map((s) => setContainerImage(kube, ns, s.canaryDeployment, s.container, s.newImage)));
    }
    for (const planned of plan.steps.slice(opts.startIndex)) {
      current = planned.label;
      const rec = newStepRecord(planned.label, planned.step.kind === "canary" ? planned.step.weight : undefined);
      record.steps.push(rec);
      state.step = planned.label;
      await writeInFlight(kube, ns, state);
      progress.step(planned.label, planned.step.kind === "canary" ? planned.step.weight : undefined);
      try {
        if (planned.step.kind === "canary") await runCanaryStep(rel, planned.step, rec);
        else await runPromoteStep(rel, rec, { skipCanary: opts.skipCanary });
        rel.signal.throwIfAborted();
        finishStep(rec, "passed", rec.detail);
      } catch (err) {
        finishStep(rec, rel.signal.aborted ? "interrupted" : "failed", reasonOf(err, rel.signal));
        throw err;
      }
    }
  } catch (err) {
    throw await failAndRollBack(rel, record, current, err);
  }
  // Released. What follows only tidies up: a failure here is reported, never a reason to undo the release.
  await Promise.all(rel.routers.map((r) => r.reset())).catch((err: Error) =>
    progress.warn(`could not remove the canary header routing: ${err.message}`),
  );
  await recordDigests(rel, record);
  record.outcome = "succeeded";
  await clearInFlight(kube, ns, state.id).catch((err: Error) =>
    progress.warn(
      `could not clear the in-flight state (ConfigMap release-gate-state): ${err.message}; delete it once production is checked`,
    ),
  );
  progress.step("done", 0);
  return finalizeRecord(rel, record);
}

/** Digest of what stable runs now, where the kubelet reports it (best effort). */
export async function recordDigests(rel: Release, record: ReleaseRecord): Promise<void> {
  const { kube, config } = rel.env;
  await Promise.all(
    rel.state.services.map(async (s, i) => {
      try {
        const d = await kube.apps.readNamespacedDeployment({ name: s.stableDeployment, namespace: config.namespace });
        const digest = await runningDigest(kube, config.namespace, d, s.container);
        if (digest) record.services[i].digest = digest;
      } catch {
        // The record says "digest unknown"; not worth failing a finished release.
      }
    }),
  );
}

/** Roll back after `err` at step `current`, record it, and return the FailedError the command ends with. */
export async function failAndRollBack(rel: Release, record: ReleaseRecord, current: string, err: unknown): Promise<Error> {
  const { kube, config } = rel.env;
  const ns = config.namespace;
  const state = rel.state;
  const reason = reasonOf(err, rel.signal);
  // A run that lost the lock to another identity: its signal says so, or the state it tried to write was that run's.
  const winner = takenOverBy(rel.signal) ?? (err instanceof StateOwnedError ? err.holder : undefined);
  if (winner) {
    // Another run owns production now: rolling back, or writing the state, would undo or overwrite its work (I6).
    rel.env.progress.warn(`stopped at ${current}: the release lock was taken over by ${winner}`);
    return new FailedError(
      `release of ${state.tag} stopped at ${current}: the release lock was taken over by ${winner}; that run now owns production; nothing rolled back by this run ` +
        `(the in-flight state and production are left to it; \`release-gate status\` shows where production stands)`,
    );
  }
  const position = { ...state }; // Before rollBack marks the state "rollback".
  const rec = newStepRecord("rollback", 0);
  record.steps.push(rec);
  const result = await rollBack(rel, `${current}: ${reason}`);
  finishStep(
    rec,
    result.ok ? "passed" : "failed",
    `${result.detail}${result.weightZeroMs !== undefined ? `; weight 0 after ${result.weightZeroMs} ms` : ""}`,
  );
  record.outcome = result.ok ? "rolled-back" : "rollback-failed";
  record.rollbackReason = `${current}: ${reason}`;
  record.rollbackTimings = {
    ...(result.weightZeroMs !== undefined ? { weightZeroMs: result.weightZeroMs } : {}),
    ...(result.restoredMs !== undefined ? { restoredMs: result.restoredMs } : {}),
  };
  state.record = record;
  if (result.ok) await clearInFlight(kube, ns, state.id).catch(() => undefined);
  else await writeInFlight(kube, ns, state).catch(() => undefined);
  const final = await finalizeRecord(rel, record);
  const error = releaseFailedError(
    state.tag,
    current,
    reason,
    result,
    state.services.map((s) => s.previousImage).join(", "),
    lastKnownPosition(position),
  );
  (error as Error & { record?: ReleaseRecord }).record = final;
  return error;
}
