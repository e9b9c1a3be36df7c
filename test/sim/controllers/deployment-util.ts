/**
 * The arithmetic of the Deployment controller, written from the Kubernetes documentation and the behaviour of
 * `pkg/controller/deployment/util`: defaults, maxSurge/maxUnavailable resolution (surge rounds up, unavailable
 * rounds down, never both zero), revisions, annotations carried to ReplicaSets, and conditions.
 */
import type { Clock } from "../clock.ts";
import { semanticEqual } from "./canonical.ts";
import type { Condition, Deployment, IntOrString, PodTemplateSpec, ReplicaSet } from "./types.ts";

export const REVISION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
export const HASH_LABEL = "pod-template-hash";

/** Deployment annotations that are the controller's own and never copied onto ReplicaSets. */
const SKIP_COPY = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  "deprecated.deployment.rollback.to",
]);

// Condition reasons (Kubernetes' deploymentutil constants).
export const NEW_RS_REASON = "NewReplicaSetCreated";
export const FOUND_NEW_RS_REASON = "FoundNewReplicaSet";
export const RS_UPDATED_REASON = "ReplicaSetUpdated";
export const NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable";
export const TIMED_OUT_REASON = "ProgressDeadlineExceeded";
export const PAUSED_REASON = "DeploymentPaused";
export const RESUMED_REASON = "DeploymentResumed";
export const MIN_AVAILABLE_REASON = "MinimumReplicasAvailable";
export const MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable";

export const replicasOf = (d: Deployment): number => d.spec.replicas ?? 1;
export const isRecreate = (d: Deployment): boolean => d.spec.strategy?.type === "Recreate";
export const progressDeadline = (d: Deployment): number => d.spec.progressDeadlineSeconds ?? 600;
/** MaxInt32 means "no deadline", as the API documents. */
export const hasProgressDeadline = (d: Deployment): boolean => progressDeadline(d) !== 2147483647;
export const revisionHistoryLimit = (d: Deployment): number => d.spec.revisionHistoryLimit ?? 10;

/** An int, or a percentage of `total` rounded up or down. */
export function scaledValue(v: IntOrString | undefined, fallback: IntOrString, total: number, roundUp: boolean): number {
  const value = v ?? fallback;
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) {
    if (/^\d+$/.test(value)) return Number(value);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage: ${value}`);
  }
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** [maxSurge, maxUnavailable] in pods; if both resolve to 0, maxUnavailable becomes 1. */
export function resolveFenceposts(d: Deployment): [number, number] {
  const replicas = replicasOf(d);
  const ru = d.spec.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge, "25%", replicas, true);
  let unavailable = scaledValue(ru?.maxUnavailable, "25%", replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export function maxSurge(d: Deployment): number {
  return isRecreate(d) ? 0 : resolveFenceposts(d)[0];
}

export function maxUnavailable(d: Deployment): number {
  if (isRecreate(d) || replicasOf(d) === 0) return 0;
  return Math.min(resolveFenceposts(d)[1], replicasOf(d));
}

export const rsReplicas = (rs: ReplicaSet): number => rs.spec.replicas ?? 1;
export const sumSpec = (rss: ReplicaSet[]): number => rss.reduce((n, rs) => n + rsReplicas(rs), 0);
export const sumStatus = (rss: ReplicaSet[], f: "replicas" | "readyReplicas" | "availableReplicas"): number =>
  rss.reduce((n, rs) => n + (rs.status?.[f] ?? 0), 0);

export function revisionOf(rs: ReplicaSet): number {
  const n = Number(rs.metadata.annotations?.[REVISION] ?? "0");
  return Number.isFinite(n) ? n : 0;
}

export const maxRevision = (rss: ReplicaSet[]): number => rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);

function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec {
  const copy = structuredClone(t ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels[HASH_LABEL];
  return copy;
}

/** Two pod templates are the same rollout if they differ only in the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return semanticEqual(withoutHash(a), withoutHash(b));
}

export const byCreation = (a: ReplicaSet, b: ReplicaSet): number =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || a.metadata.name.localeCompare(b.metadata.name);

/**
 * Copy the Deployment's annotations onto the ReplicaSet (except the controller's own), bump the revision when
 * the ReplicaSet's is lower (keeping the old number in revision-history: a rollback reuses an old ReplicaSet),
 * and, for a ReplicaSet about to be created, record desired/max replicas. Returns whether anything changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIP_COPY.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  const had = Object.hasOwn(ann, REVISION);
  const oldRevision = Number(ann[REVISION] ?? "0") || 0;
  if (oldRevision < newRevision) {
    if (had) ann[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${oldRevision}` : String(oldRevision);
    ann[REVISION] = String(newRevision);
    changed = true;
  }
  if (!exists) changed = setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d)) || changed;
  return changed;
}

export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  if (ann[DESIRED_REPLICAS] !== String(desired)) {
    ann[DESIRED_REPLICAS] = String(desired);
    changed = true;
  }
  if (ann[MAX_REPLICAS] !== String(max)) {
    ann[MAX_REPLICAS] = String(max);
    changed = true;
  }
  return changed;
}

export function newCondition(clock: Clock, type: string, status: Condition["status"], reason: string, message: string): Condition {
  const now = clock.timestamp();
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

/** SetDeploymentCondition: same status and reason is a no-op; same status keeps lastTransitionTime. */
export function setCondition(conds: Condition[], c: Condition): Condition[] {
  const current = conds.find((x) => x.type === c.type);
  if (current && current.status === c.status && current.reason === c.reason) return conds;
  if (current && current.status === c.status) c.lastTransitionTime = current.lastTransitionTime;
  return [...conds.filter((x) => x.type !== c.type), c];
}

export const removeCondition = (conds: Condition[], type: string): Condition[] => conds.filter((x) => x.type !== type);

export type DeploymentStatus = NonNullable<Deployment["status"]>;

export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (
    (s.updatedReplicas ?? 0) === r &&
    (s.replicas ?? 0) === r &&
    (s.availableReplicas ?? 0) === r &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** Progress: more updated, fewer old, more ready or more available replicas than the last recorded status. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** The deadline runs from the Progressing condition's lastUpdateTime; a complete rollout never times out. */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = s.conditions?.find((x) => x.type === "Progressing");
  if (!c) return false;
  if (c.reason === NEW_RS_AVAILABLE_REASON) return false;
  if (c.reason === TIMED_OUT_REASON) return true;
  const from = Date.parse(c.lastUpdateTime ?? "");
  return from + progressDeadline(d) * 1000 < nowMs;
}
