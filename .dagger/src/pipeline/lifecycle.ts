/**
 * The one lifecycle of every command that changes production (deploy, deploy --resume, canary, promote,
 * rollback); each is a body run inside it:
 *
 *   preflight (read-only: bad input refused, nothing changed)
 *   → lock (a Lease, renewed while the run lasts; lost → the run stops)
 *   → watch of the namespace + journal (the in-flight state: what was found, what this run carries on)
 *   → body (writes the journal before each change)
 *   → on failure: rollback (at most once), unless another run took the lock over
 *   → journal "done" → record stored → journal cleared (so a crash leaves the state or the record, never neither)
 *   → unlock
 *
 * What an interrupted release found in the cluster means depends on the command (its InFlightPolicy).
 */
import { randomUUID } from "node:crypto";
import type { ReleaseRecord, ServiceOutcome } from "../audit/record.ts";
import { storeRecord } from "../audit/store.ts";
import { FailedError, UsageError } from "../errors.ts";
import { ClusterWatch } from "../health/cluster-watch.ts";
import { describeApiError, explainApiFailure, isApiFailure, statusOf } from "../kube/api-errors.ts";
import type { ReleaseLock } from "../kube/lease-lock.ts";
import { finishStep, newStepRecord, type PipelineEnv, type RollbackResult, type Run, servicesOf, StepFailure } from "./context.ts";
import { describeEnd } from "./end-state.ts";
import { ownerInstead, takeLock } from "./lock.ts";
import {
  corruptStateAdvice,
  describeInFlight,
  type InFlightState,
  Journal,
  type ServiceInFlight,
  STATE_CONFIGMAP,
  StateOwnedError,
  stepLabelOf,
  untrustedBecause,
} from "./journal.ts";
import { assertAtRest, checkInputs, type Checked, productionNow, restProblems } from "./preflight.ts";
import { driftFrom, droppedUntrustedBecause, recordedRouting } from "./recorded.ts";
import { rollBack, type RollbackOptions, lastKnownPosition } from "./rollback.ts";
import { reasonOf } from "./steps.ts";

/** What a command does with an interrupted release found in the cluster. */
export type InFlightPolicy =
  /** deploy: nothing may be in flight (an unreadable state counts as something). */
  | "refuse"
  /** deploy --repair: whatever is in flight is rolled back first, with its own record, under this run's lock. */
  | "repair"
  /** deploy --resume, canary, promote: a release of the same tag is carried on; another tag is refused. */
  | "adopt"
  /** rollback: whatever is there is taken over; an unreadable state is worked around from the live objects. */
  | "any";

export interface ReleaseRequest {
  command: ReleaseRecord["command"];
  /** The tag released; rollback releases none. */
  tag?: string;
  inFlight: InFlightPolicy;
  /** Take the lock over from a holder that stopped renewing it ("stale"), or even from a live one ("force"). */
  takeOver?: "stale" | "force";
  skipCanary?: { reason: string };
  /** A tag release.yaml marks as mutable (or `latest`) was allowed on purpose (--allow-mutable-tag). */
  allowMutableTag?: boolean;
  /**
   * deploy and deploy --resume: the index of the plan's step the body starts from (0: the whole plan). Preflight
   * then checks metric analysis's queries when a step left has an observation window.
   */
  planFrom?: number;
  /** SIGTERM/SIGINT: the run stops and rolls back. */
  signal?: AbortSignal;
}

/** How a body ended: released, a canary held for the operator, nothing to release, or production brought back to rest. */
export type Outcome = "released" | "held" | "no-change" | "rolled-back";

/** A command's work. Throws to fail (then the run rolls back); a UsageError before its first change is a refusal. */
export type Body = (run: Run) => Promise<Outcome>;

/** A release (or rollback) that failed: exit 1. `record` is what was stored, when it was. */
export class ReleaseFailedError extends FailedError {
  record: ReleaseRecord | undefined;
  constructor(message: string, record?: ReleaseRecord) {
    super(message);
    this.name = "ReleaseFailedError";
    this.record = record;
  }
}

/** Runs `body` as `req` says, from preflight to unlock. Resolves with the stored record; rejects with UsageError or ReleaseFailedError. */
export async function withRelease(env: PipelineEnv, req: ReleaseRequest, body: Body): Promise<ReleaseRecord> {
  // Until the body runs, an API failure means nothing was changed: it is said with the server and the object, and
  // an API that could not be reached at all is a refusal (exit 2): nothing could be read, nothing was changed.
  let stage = "checking release.yaml against the cluster";
  let acting = false;
  const explained = (err: unknown): unknown => {
    if (!isApiFailure(err) || acting) return err;
    const cause = explainApiFailure(err, env.kube.kc.getCurrentCluster()?.server, env.config.namespace);
    const why = `${req.command} stopped while ${stage}: ${cause}; nothing was changed by this run`;
    return statusOf(err) === undefined ? new UsageError(why) : new FailedError(why);
  };
  const checked = await checkInputs(env, {
    ...(req.tag ? { tag: req.tag } : {}),
    skipCanary: !!req.skipCanary,
    releasing: req.command !== "rollback",
    ...(req.allowMutableTag ? { allowMutableTag: true } : {}),
    ...(req.planFrom !== undefined ? { planFrom: req.planFrom } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  }).catch((err: unknown) => {
    throw explained(err);
  });
  stage = "taking the release lock";
  const lock = await takeLock(env, req.takeOver).catch((err: unknown) => {
    throw explained(err);
  });
  // The run stops when the lock is lost: taken over or deleted (without touching production), or renewals failing.
  const lost = lock.startRenewing();
  const signal = req.signal ? AbortSignal.any([req.signal, lost]) : lost;
  const cluster = new ClusterWatch(env.kube, env.config.namespace);
  try {
    stage = "reading the namespace and the in-flight state";
    await cluster.synced();
    let journal = await openJournal(env);
    const held: Held = { holder: lock.identity, lock, cluster, signal, checked, onActing: () => (acting = true) };
    if (req.inFlight === "repair" && journal.found.kind !== "none") {
      // Repaired here, under this run's lock, with a record of its own; then the release starts over.
      const repair: ReleaseRequest = { command: "rollback", inFlight: "any" };
      const repaired = await runOnce(env, repair, held, journal, (run) => rollbackBody(run, `repair before deploying ${req.tag}`));
      // A signal during the repair stops the whole command: the new release never starts.
      if (signal.aborted) throw stoppedAfterRepair(req, repaired, signal);
      journal = await Journal.open(env.kube, env.config.namespace);
      acting = false;
    }
    return await runOnce(env, req, held, journal, body);
  } catch (err) {
    throw explained(err);
  } finally {
    await cluster.stop();
    lock.stopRenewing();
    await lock
      .release()
      .catch((err: unknown) => env.progress.warn(`could not release the lock (it expires by itself): ${describeApiError(err)}`));
  }
}

/** deploy --repair cancelled (or its lock lost) while it repaired: the repair's record is stored, the release not started. */
function stoppedAfterRepair(req: ReleaseRequest, repaired: ReleaseRecord, signal: AbortSignal): ReleaseFailedError {
  const r: unknown = signal.reason;
  const why = r instanceof Error ? r.message : String(r ?? "cancelled");
  return new ReleaseFailedError(
    `deploy --repair stopped after its repair (${why}): the interrupted release of ${repaired.tag} was rolled back ` +
      `(${repaired.outcome}; its record is stored), and the release of ${req.tag} was NOT started. ` +
      `Production now: ${repaired.finalState ?? "see release-gate status"}`,
    repaired,
  );
}

/**
 * The journal, after tidying a state a dead run left at "done" (it finished, then died before clearing): its
 * record is stored again (the history keeps one per id) and the state cleared.
 */
async function openJournal(env: PipelineEnv): Promise<Journal> {
  const { kube, config, progress } = env;
  const journal = await Journal.open(kube, config.namespace);
  const found = journal.found;
  if (found.kind !== "ok" || found.state.step.kind !== "done") return journal;
  progress.info(
    `release ${found.state.tag} finished (${found.state.step.outcome}) but its run did not clear its in-flight state: storing its record, clearing it`,
  );
  await storeRecord(kube, found.state.record, {
    namespace: config.namespace,
    historyLimit: config.historyLimit,
    deployments: [],
    warn: (m) => progress.warn(m),
  });
  await journal.discardFinished();
  return Journal.open(kube, config.namespace);
}

/** What a run holds once it has the lock: its identity and lock, its watch of the namespace, its signal, what preflight checked. */
interface Held {
  holder: string;
  lock: ReleaseLock;
  cluster: ClusterWatch;
  signal: AbortSignal;
  checked: Checked;
  /** Called when the body starts: from then on, a failure is not "nothing was changed". */
  onActing: () => void;
}

/** One command inside the lock: what is found, the body, the rollback on failure, the record. */
async function runOnce(env: PipelineEnv, req: ReleaseRequest, held: Held, journal: Journal, body: Body): Promise<ReleaseRecord> {
  const { config, progress } = env;
  const { holder, cluster, signal, checked } = held;
  const { interrupted, unreadable, replaces } = whatWasFound(env, req, journal, cluster);
  // An interrupted release is acted on through the objects it recorded, whatever release.yaml says now; a difference
  // is said, and a release is never carried on over other objects than the ones it changed.
  const drift = interrupted ? driftFrom(interrupted, config) : [];
  if (drift.length && req.inFlight === "adopt") {
    throw new UsageError(
      `refused: release.yaml differs from what the interrupted release ${interrupted!.tag} recorded: ${drift.join("; ")}. It cannot be ` +
        "carried on over other objects: `release-gate rollback` returns production to rest from the recorded ones; nothing was changed",
    );
  }
  if (drift.length)
    progress.warn(`release.yaml differs from what the interrupted release recorded: ${drift.join("; ")}; acting on the recorded objects`);
  const routing = interrupted ? recordedRouting(env.kube, interrupted, config.namespace) : checked.routing;
  const services = interrupted?.services ?? productionNow(cluster, config, checked.version);
  const record = newRecord(env, req.command, interrupted?.tag ?? req.tag ?? "(none in flight)", services);
  if (req.skipCanary) record.skipCanary = req.skipCanary;
  journal.begin(
    {
      ...(interrupted ??
        newState(
          env,
          record,
          services,
          checked.routing.routers.flatMap((r) => r.objects),
        )),
      id: record.id,
      holder,
      startedAt: record.startedAt,
      record,
    },
    replaces,
  );
  // A fresh release starts from rest; one carried on (or a rollback) starts from where the other run left it.
  if (!interrupted && req.command !== "rollback") await assertAtRest(checked.routing, cluster, config);
  const run: Run = {
    env,
    journal,
    routing,
    cluster,
    smoke: checked.smoke,
    record,
    signal,
    ...(interrupted ? { interrupted } : {}),
    ...(unreadable ? { unreadable } : {}),
    ...(drift.length ? { drift } : {}),
  };
  let outcome: Outcome | undefined;
  let failure: ReleaseFailedError | undefined;
  try {
    held.onActing();
    try {
      outcome = await body(run);
    } catch (err) {
      if (err instanceof UsageError && !journal.hasWritten) throw err; // A refusal: nothing was changed.
      failure = await fail(run, err, held);
      if (!failure.record) throw failure; // Another run owns production now: no record, no state written by this one.
    }
    await finish(run, outcome);
  } finally {
    if (routing !== checked.routing) await routing.close();
    else await checked.routing.close();
  }
  if (failure) throw failure;
  if (run.end && !run.end.healthy) {
    const ended = outcome === "rolled-back" ? "rolled back" : outcome === "no-change" ? "changed nothing" : "finished";
    throw new ReleaseFailedError(`${req.command} ${record.tag} ${ended}, but ${run.end.summary}`, record);
  }
  return record;
}

/**
 * The interrupted release this command carries on, or why the one found cannot be used, and the id of the stored
 * state this run may replace; refusals as the policy says.
 */
function whatWasFound(
  env: PipelineEnv,
  req: ReleaseRequest,
  journal: Journal,
  cluster: ClusterWatch,
): { interrupted?: InFlightState; unreadable?: string; replaces?: string } {
  const found = journal.found;
  const distrust =
    found.kind === "ok"
      ? (untrustedBecause(found.state, env.config) ?? droppedUntrustedBecause(found.state, env.config, cluster))
      : undefined;
  const unusable = found.kind === "corrupt" ? found.reason : distrust;
  if (unusable !== undefined) {
    // Worked around from the live objects, and replaced: nothing in it is acted on.
    if (req.inFlight === "any") return { unreadable: unusable, ...(found.kind === "ok" ? { replaces: found.state.id } : {}) };
    throw new UsageError(
      `refused: ${corruptStateAdvice(unusable)}; or \`deploy --repair\` to do that and then deploy; nothing was changed`,
    );
  }
  if (found.kind !== "ok") return {};
  const state = found.state;
  if (req.inFlight === "any" || (req.inFlight === "adopt" && state.tag === req.tag)) return { interrupted: state, replaces: state.id };
  if (req.inFlight === "adopt") {
    throw new UsageError(`refused: ${describeInFlight(state)} is in flight; resume, promote or roll it back first; nothing was changed`);
  }
  throw new UsageError(
    `refused: an interrupted ${describeInFlight(state)}. Run \`release-gate rollback\` to repair production, \`release-gate deploy --tag ` +
      `${state.tag} --resume\` to continue it, or \`deploy --repair\` to roll it back and deploy; nothing was changed`,
  );
}

function newRecord(env: PipelineEnv, command: ReleaseRecord["command"], tag: string, services: ServiceInFlight[]): ReleaseRecord {
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
    services: services.map((s): ServiceOutcome => ({
      name: s.name,
      previousImage: s.stable.image,
      newImage: s.canary.image,
      ...(s.canary.digest ? { digest: s.canary.digest } : {}),
    })),
    steps: [],
  };
}

function newState(env: PipelineEnv, record: ReleaseRecord, services: ServiceInFlight[], routes: InFlightState["objects"]): InFlightState {
  const { config } = env;
  const deployments = services.flatMap((s) =>
    [s.stable.deployment, s.canary.deployment].map((name) => ({ kind: "Deployment" as const, namespace: config.namespace, name })),
  );
  return {
    schemaVersion: 2,
    id: record.id,
    tag: record.tag,
    holder: env.identity,
    startedAt: record.startedAt,
    updatedAt: record.startedAt,
    step: { kind: "start" },
    passedWeight: 0,
    promotionStarted: false,
    router: { kind: config.router.kind, canaryHeader: config.router.canaryHeader },
    objects: [...routes, ...deployments.filter((d) => !routes.some((r) => r.kind === d.kind && r.name === d.name))],
    services,
    record,
  };
}

/** Roll back once, recording it as the run's "rollback" step. */
export async function rollBackRecorded(run: Run, reason: string, opts: RollbackOptions = {}): Promise<RollbackResult> {
  if (run.rolledBack) return run.rolledBack;
  const rec = newStepRecord("rollback", 0);
  run.record.steps.push(rec);
  const result = await rollBack(run, reason, opts);
  run.rolledBack = result;
  const drift = run.drift?.length
    ? `; acted on the objects the interrupted release recorded (release.yaml differs: ${run.drift.join("; ")})`
    : "";
  finishStep(
    rec,
    result.ok ? "passed" : "failed",
    `${result.detail}${result.weightZeroMs !== undefined ? `; weight 0 after ${result.weightZeroMs} ms` : ""}${drift}`,
  );
  run.record.outcome = result.ok ? "rolled-back" : "rollback-failed";
  run.record.rollbackReason = reason;
  run.record.rollbackTimings = {
    ...(result.weightZeroMs !== undefined ? { weightZeroMs: result.weightZeroMs } : {}),
    ...(result.restoredMs !== undefined ? { restoredMs: result.restoredMs } : {}),
  };
  return result;
}

/**
 * The rollback command's body, also what `deploy --repair` runs first. With nothing in flight, production already
 * at rest is left alone and said so ("no-change"); production not at rest is returned to it.
 */
export async function rollbackBody(run: Run, reason: string): Promise<Outcome> {
  let why = [reason, run.interrupted ? `interrupted ${describeInFlight(run.interrupted)}` : undefined].filter(Boolean).join("; ");
  if (!run.interrupted && !run.unreadable) {
    const busy = await restProblems(run.routing, run.cluster, servicesOf(run));
    if (!busy.length) {
      run.record.finalState = "nothing was in flight and production was already at rest: nothing was changed";
      return "no-change";
    }
    why += `; nothing was recorded in flight, but production was not at rest (${busy.join(", ")})`;
  }
  const result = await rollBackRecorded(run, why, run.unreadable ? { unreadable: run.unreadable } : {});
  if (!result.ok) {
    throw new ReleaseFailedError(
      `${result.detail}. Production may be mixed; the in-flight state is kept, run \`release-gate status\` and retry \`release-gate rollback\``,
    );
  }
  return "rolled-back";
}

/**
 * After `err`: stop without touching production when another run took the lock over or the state from this run (it
 * owns production now); otherwise roll back (once) and say what failed, what was done, and where production stands.
 */
async function fail(run: Run, err: unknown, held: Held): Promise<ReleaseFailedError> {
  const state = run.journal.state!;
  // A step that failed before its first write (promotion refused over someone else's change) is named for itself.
  const at = err instanceof StepFailure ? err.step : stepLabelOf(state.step);
  const stopped = (winner: string) => {
    // Rolling back, or writing the state, would undo or overwrite the other run's work (I6).
    run.env.progress.warn(`stopped at ${at}: the release lock was taken over by ${winner}`);
    return new ReleaseFailedError(
      `release of ${state.tag} stopped at ${at}: the release lock was taken over by ${winner}; that run now owns production; nothing rolled back by this run ` +
        `(the in-flight state and production are left to it; \`release-gate status\` shows where production stands)`,
    );
  };
  const winner = await ownerInstead(run, err, held);
  if (winner) return stopped(winner);
  if (err instanceof ReleaseFailedError) return Object.assign(err, { record: run.record }); // The body said it already.
  const reason = reasonOf(err, run);
  const position = lastKnownPosition(state); // Before the rollback moves the journal on.
  let result: RollbackResult;
  try {
    result = await rollBackRecorded(run, `${at}: ${reason}`);
  } catch (e) {
    if (e instanceof StateOwnedError) return stopped(e.holder);
    throw e;
  }
  const end = result.ok ? await describeEnd(run) : undefined;
  const where = end
    ? `Production now: ${end.summary}.`
    : `Production may be mixed: ${result.detail}${result.detail.includes("last known") ? "" : `; last known: ${position}`}. ` +
      "The in-flight state is kept (ConfigMap release-gate-state): once the API answers, run `release-gate status` then `release-gate rollback`.";
  return new ReleaseFailedError(
    `release of ${state.tag} failed at ${at}: ${reason}. ` +
      `${result.ok ? `Rolled back automatically (${result.detail}).` : "Automatic rollback FAILED."} ${where}`,
    run.record,
  );
}

/**
 * The end of every run that still owns production: the record completed from what the run knows (the watch, the
 * weights it verified, the routes checked), the journal marked done (or kept, when a rollback did not finish), the
 * record stored, and only then the journal cleared.
 */
async function finish(run: Run, outcome: Outcome | undefined): Promise<void> {
  const { env, journal, record } = run;
  const { kube, config, progress } = env;
  if (outcome === "no-change") record.outcome = "no-change";
  else if (outcome === "rolled-back" && !run.rolledBack) record.outcome = "rolled-back";
  record.finishedAt = new Date().toISOString();
  record.durationMs = Date.parse(record.finishedAt) - Date.parse(record.startedAt);
  await describeEnd(run);
  const stays = outcome === "held" || record.outcome === "rollback-failed";
  if (journal.hasWritten) {
    const over = record.outcome as Exclude<ReleaseRecord["outcome"], "rollback-failed">;
    const written = stays ? journal.keep(record) : journal.finished(over, record);
    await written.catch((err: unknown) => progress.warn(`could not write the in-flight state: ${describeApiError(err)}`));
  }
  await storeRecord(kube, record, {
    namespace: config.namespace,
    historyLimit: config.historyLimit,
    deployments: servicesOf(run).map((s) => ({
      name: s.stable.deployment,
      uid: run.cluster.deployment(s.stable.deployment)?.metadata?.uid,
    })),
    warn: (m) => progress.warn(m),
  });
  if (!stays && journal.hasWritten) {
    await journal
      .clear()
      .catch((err: unknown) =>
        progress.warn(
          `could not clear the in-flight state (ConfigMap ${STATE_CONFIGMAP}): ${describeApiError(err)}; the record is stored, and the next ` +
            `release-gate command clears it`,
        ),
      );
  }
}
