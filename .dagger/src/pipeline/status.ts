/**
 * What production runs now, and whether it is healthy: images and replicas per service, the live weights of the
 * objects an in-flight release recorded (or release.yaml's when nothing is in flight), the lock and whether its
 * holder is alive (judged as the lock judges it: renewals), any release in flight with the ways out that the
 * commands will accept, and drift (a stable Deployment running another image than the last release left on it).
 * Read-only. A missing object is reported as a fact; an API that cannot be reached is named, and when nothing at
 * all could be read the answer is a refusal (exit 2).
 */
import type * as k8s from "@kubernetes/client-node";
import { readHistory } from "../audit/history.ts";
import type { ReleaseRecord } from "../audit/record.ts";
import { FailedError, UsageError } from "../errors.ts";
import { describeApiError, explainApiFailure, isApiFailure } from "../kube/api-errors.ts";
import { containerImage } from "../kube/deployments.ts";
import { confirmedLock, type LockInfo } from "../kube/lease-lock.ts";
import { releasedTagOf } from "../kube/released-tag.ts";
import type { Routing } from "../traffic/routing.ts";
import { routingFor } from "../traffic/routing.ts";
import type { PipelineEnv } from "./context.ts";
import {
  corruptStateAdvice,
  describeInFlight,
  inspectInFlight,
  type InFlightState,
  type ObservationInFlight,
  stepLabelOf,
  untrustedBecause,
} from "./journal.ts";
import { planRelease } from "./plan.ts";
import { driftFrom, droppedUntrustedBecause, recordedRouting } from "./recorded.ts";
import { resumePoint } from "./resume.ts";

export interface Side {
  /** The Deployment's name. */
  deployment: string;
  image?: string;
  /** The tag a Deployment pinned by digest was released as (its template's release-gate.qualisys.io/tag, for that digest). */
  releasedAs?: string;
  replicas: number;
  available: number;
  ready: number;
  /** The Deployment release.yaml names does not exist. */
  missing?: true;
}

/** Whether the run that wrote the in-flight state is alive, as the lock judges it (renewals). */
export type Liveness =
  /** Its holder renews the lock: it is working; nothing to repair. */
  | "running"
  /** The lock's holder stopped renewing it (or it expired, or was released without the state being cleared). */
  | "dead"
  /** The `canary` command left it at a weight on purpose, for the operator's next command. */
  | "held"
  /** Finished, its record written; only the state was left behind (the next command clears it). */
  | "finished";

export interface InFlightStatus extends Pick<
  InFlightState,
  "id" | "tag" | "holder" | "startedAt" | "updatedAt" | "step" | "passedWeight" | "promotionStarted"
> {
  /** The step in words ("canary 50%"). */
  stepLabel: string;
  summary: string;
  /** Who started the release (from its record). */
  triggeredBy: string;
  liveness: Liveness;
  /** dead: how long ago its run last renewed the lock (or last wrote the state), in ms. */
  deadForMs?: number;
  /** The ways out the commands accept now, as command lines (none while its run is alive). */
  options: string[];
  /** The observation window under way (running only). */
  observation?: ObservationInFlight & { leftMs: number };
  /** The canary share measured through the public URL in the current step, per service, when sampled. */
  observedSplit?: Array<{ service: string; expected: number; observed: number; samples: number }>;
  /** Differences between release.yaml now and what the release recorded (its objects are what status reads). */
  configDifferences: string[];
}

export interface ProductionStatus {
  namespace: string;
  /** The API server asked. */
  server?: string;
  services: Array<{ name: string; stable: Side; canary: Side }>;
  /** The canary weight of each route object: the in-flight release's recorded ones, else release.yaml's. */
  weights: Array<{ router: string; weight: number | null; error?: string }>;
  lock: (LockInfo & { heldBy: string }) | null;
  inFlight: InFlightStatus | null;
  /** The state ConfigMap exists but cannot be used (truncated, hand-edited, not matching release.yaml): why, and what to do. */
  stateUnreadable: { reason: string; advice: string } | null;
  /** Production's health, checked: every stable Deployment fully Available, every route object and its backends in place. */
  healthy: boolean;
  problems: string[];
  /** Stable Deployments running another image than the last recorded release left them on. */
  drift: Array<{
    service: string;
    deployment: string;
    running: string;
    recorded: string;
    recordId: string;
    recordTag: string;
    at?: string;
  }>;
  /** Things status could not check, and why. */
  warnings: string[];
  /**
   * Resting (I4) and healthy: all weights 0, every canary at 0 replicas (a missing one has none), nothing in flight, no
   * live run, stable Available, routes in place.
   */
  resting: boolean;
}

/** Who holds the lock, for people: the holder's identity, with the record's name where the identity had none. */
function heldBy(lock: LockInfo, state: InFlightState | undefined): string {
  const who = state?.holder === lock.holder ? state.record.triggeredBy : undefined;
  return who && /^unknown\b/.test(lock.holder) ? lock.holder.replace(/^unknown/, who) : lock.holder;
}

export interface ReadStatusOptions {
  /** Told what status waits for (a lock this machine's clock calls stale is watched before its run is called dead). */
  onWaiting?: (what: string) => void;
}

export async function readStatus(env: Pick<PipelineEnv, "kube" | "config">, o: ReadStatusOptions = {}): Promise<ProductionStatus> {
  const { kube, config } = env;
  const ns = config.namespace;
  const server = kube.kc.getCurrentCluster()?.server;
  // The Deployments first, alone: an API that cannot be reached (or refuses) is said once, naming it, and as
  // nothing at all could be read, it is a refusal: exit 2.
  const deployments = await kube.apps.listNamespacedDeployment({ namespace: ns }).catch((err: unknown) => {
    throw isApiFailure(err)
      ? new UsageError(
          `status: could not read anything from the cluster (the Deployments of namespace ${ns}): ${explainApiFailure(err, server, ns)}; ` +
            `production was not checked`,
        )
      : err;
  });
  const explained = <T>(what: string, read: () => Promise<T>) =>
    read().catch((err: unknown) => {
      throw isApiFailure(err) ? new FailedError(`status: could not read ${what}: ${explainApiFailure(err, server, ns)}`) : err;
    });
  const warnings: string[] = [];
  const [lock, stored, history] = await Promise.all([
    explained(`the release lock (Lease ${ns}/release-gate)`, () => confirmedLock(kube, ns, o.onWaiting)),
    explained(`the in-flight state (ConfigMap ${ns}/release-gate-state)`, () => inspectInFlight(kube, ns)),
    readHistory(kube, ns).catch((err: unknown) => {
      warnings.push(
        `the release history (ConfigMap ${ns}/release-gate-history) could not be read (${describeApiError(err)}): drift not checked`,
      );
      return [] as ReleaseRecord[];
    }),
  ]);
  const state = stored.kind === "ok" ? stored.state : undefined;
  // Judged as rollback judges it (recorded.ts), with the Deployments just listed.
  const listed = new Map(deployments.items.map((d) => [d.metadata?.name ?? "", d]));
  const distrust = state
    ? (untrustedBecause(state, config) ?? droppedUntrustedBecause(state, config, { deployment: (name) => listed.get(name) }))
    : undefined;
  const services = serviceSides(state && !distrust ? state.services : config.services, deployments.items);
  // The recorded objects when a release is in flight (read-only, even from a state rollback would not trust).
  const routing = state ? recordedRouting(kube, state, ns) : routingFor(kube, config);
  const [weights, routeProblems] = await Promise.all([routing.weights(), routeHealth(routing)]);
  const problems = [...stableProblems(services), ...routeProblems];
  const live = lock && !lock.stale ? lock : undefined;
  const inFlight = state && !distrust ? describeState(state, config, lock ?? undefined) : null;
  const unreadable = stored.kind === "corrupt" ? stored.reason : distrust;
  const drift = driftOf(services, history, state);
  for (const s of services) {
    if (s.canary.missing)
      warnings.push(
        `canary Deployment ${s.canary.deployment} does not exist: it has no pods and gets no traffic, but the next release refuses ` +
          "until it is there again (`kubectl apply -k kubernetes/production`)",
      );
  }
  return {
    namespace: ns,
    ...(server ? { server } : {}),
    services,
    weights,
    lock: lock ? { ...lock, heldBy: heldBy(lock, state) } : null,
    inFlight,
    stateUnreadable: unreadable !== undefined ? { reason: unreadable, advice: corruptStateAdvice(unreadable) } : null,
    healthy: problems.length === 0,
    problems,
    drift,
    warnings,
    resting:
      !state &&
      stored.kind === "none" &&
      !live &&
      problems.length === 0 &&
      weights.every((w) => w.weight === 0) &&
      services.every((s) => s.canary.replicas === 0),
  };
}

/** Each service's stable and canary as the Deployments show them (missing ones as missing). */
export function serviceSides(
  of: Array<{ name: string; container: string; stable: { deployment: string }; canary: { deployment: string } }>,
  deployments: k8s.V1Deployment[],
): ProductionStatus["services"] {
  const byName = new Map(deployments.map((d) => [d.metadata?.name ?? "", d]));
  return of.map((s) => ({
    name: s.name,
    stable: side(s.stable.deployment, byName.get(s.stable.deployment), s.container),
    canary: side(s.canary.deployment, byName.get(s.canary.deployment), s.container),
  }));
}

function side(deployment: string, d: k8s.V1Deployment | undefined, container: string): Side {
  if (!d) return { deployment, replicas: 0, available: 0, ready: 0, missing: true };
  // The tag it was released as, only while it runs the digest release-gate pinned (a re-applied manifest keeps the annotation).
  const image = containerImage(d, container);
  const releasedAs = releasedTagOf(d.spec?.template?.metadata?.annotations, image);
  return {
    deployment,
    image,
    ...(releasedAs ? { releasedAs } : {}),
    replicas: d.spec?.replicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
  };
}

/** Stable must exist and have every replica Available (and at least one): what "all traffic on a healthy stable" needs. */
function stableProblems(services: ProductionStatus["services"]): string[] {
  return services.flatMap((s) => {
    const d = s.stable.deployment;
    if (s.stable.missing) return [`stable Deployment ${d} does not exist`];
    if (s.stable.replicas === 0) return [`stable Deployment ${d} is scaled to 0: nothing serves ${s.name}`];
    if (s.stable.available < s.stable.replicas)
      return [`stable Deployment ${d} has ${s.stable.available}/${s.stable.replicas} replicas Available`];
    return [];
  });
}

/** Each router's own read-only check of its objects and the Services behind them (what preflight asks). */
async function routeHealth(routing: Routing): Promise<string[]> {
  const found = await Promise.all(
    routing.routers.map((r) =>
      r.preflight().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/;? ?nothing was changed( in the cluster)?\.?$/, ""),
      ),
    ),
  );
  return found.filter((p): p is string => p !== undefined);
}

export function describeState(state: InFlightState, config: PipelineEnv["config"], lock: LockInfo | undefined): InFlightStatus {
  const liveness = livenessOf(state, lock);
  const now = Date.now();
  const deadForMs = liveness === "dead" ? (lock?.renewedAgoMs ?? Math.max(0, now - Date.parse(state.updatedAt))) : undefined;
  const step = state.step;
  const current = state.record.steps.at(-1);
  const observation =
    liveness === "running" && step.kind === "canary" && state.observation?.weight === step.weight
      ? { ...state.observation, leftMs: Math.max(0, Date.parse(state.observation.endsAt) - now) }
      : undefined;
  return {
    id: state.id,
    tag: state.tag,
    holder: state.holder,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    step,
    passedWeight: state.passedWeight,
    promotionStarted: state.promotionStarted,
    stepLabel: stepLabelOf(step),
    summary: describeInFlight(state),
    triggeredBy: state.record.triggeredBy,
    liveness,
    ...(deadForMs !== undefined ? { deadForMs } : {}),
    options: waysOut(state, config, liveness),
    ...(observation ? { observation } : {}),
    ...(step.kind === "canary" && current?.name === `canary ${step.weight}%` && current.observedSplit
      ? { observedSplit: current.observedSplit }
      : {}),
    configDifferences: driftFrom(state, config, "the release in flight"),
  };
}

/**
 * Alive exactly when the lock says its holder is: a holder that renews it (not stale) is running; a stale one is
 * dead. With the lock free, a canary held for the operator waits on purpose; anything else lost its run.
 */
export function livenessOf(state: InFlightState, lock: LockInfo | undefined): Liveness {
  if (state.step.kind === "done") return "finished";
  if (lock && !lock.stale) return "running";
  if (!lock && state.step.kind === "canary" && state.step.held) return "held";
  return "dead";
}

/**
 * What an operator may run now, as the commands accept it: nothing while the run is alive; for a held canary the
 * operator's commands; otherwise rollback, `deploy --resume` only where resume would accept the state (same
 * check), and `deploy --repair` with a new tag.
 */
function waysOut(state: InFlightState, config: PipelineEnv["config"], liveness: Liveness): string[] {
  if (liveness === "running" || liveness === "finished") return [];
  const tag = state.tag;
  if (state.step.kind === "canary" && state.step.held) {
    return [
      `release-gate canary --tag ${tag} --weight <1-100>`,
      ...(state.passedWeight >= 100 ? [`release-gate promote --tag ${tag}`] : []),
      "release-gate rollback",
    ];
  }
  let resumable = true;
  try {
    resumePoint(state, tag, planRelease(config, { skipCanary: Boolean(state.record.skipCanary) }));
  } catch {
    resumable = false;
  }
  return [
    "release-gate rollback",
    ...(resumable ? [`release-gate deploy --tag ${tag} --resume`] : []),
    "release-gate deploy --tag <new tag> --repair",
  ];
}

/** The last recorded image of each stable Deployment, compared with what it runs (no claim while stable is being changed). */
function driftOf(
  services: ProductionStatus["services"],
  history: ReleaseRecord[],
  state: InFlightState | undefined,
): ProductionStatus["drift"] {
  if (state?.promotionStarted) return [];
  const out: ProductionStatus["drift"] = [];
  for (const s of services) {
    if (!s.stable.image) continue;
    const rec = history.find((r) => r.services?.some((x) => x.name === s.name && x.finalImage));
    const recorded = rec?.services.find((x) => x.name === s.name)?.finalImage;
    if (!rec || !recorded || recorded === s.stable.image) continue;
    out.push({
      service: s.name,
      deployment: s.stable.deployment,
      running: s.stable.image,
      recorded,
      recordId: rec.id,
      recordTag: rec.tag,
      ...(rec.finishedAt ? { at: rec.finishedAt } : {}),
    });
  }
  return out;
}
