/**
 * What counts as an unhealthy canary, as pure functions of pod and Deployment objects. The monitors
 * (canary-monitor.ts, wait-rollout.ts) feed live objects through these; tests feed hand-made ones.
 */
import type * as k8s from "@kubernetes/client-node";

export type HealthReason =
  | "CrashLoopBackOff"
  | "ImagePullBackOff"
  | "ErrImagePull"
  | "InvalidImageName"
  | "CreateContainerConfigError"
  | "CreateContainerError"
  | "RunContainerError"
  | "RestartLimit"
  | "PodFailed"
  | "NotReady"
  | "NeverReady"
  | "ProgressDeadlineExceeded"
  | "ReplicaFailure"
  | "Unavailable"
  | "DeploymentDeleted";

export interface HealthFailure {
  reason: HealthReason;
  namespace: string;
  deployment: string;
  pod?: string;
  container?: string;
  /** One line: what is wrong, with the cluster's own words where it gave any. */
  message: string;
  /**
   * When the watch first saw the failing signal (epoch ms): the pod going not Ready, the Deployment going
   * unavailable; for an immediate failure (a crash, a fatal container state) the moment it was seen.
   */
  firstSeenAt?: number;
}

/** When a canary counts as failed. All four come from release.yaml (health.*, deadlines.canaryAvailable): none here. */
export interface HealthLimits {
  /** A container restarting more often than this fails the canary. */
  maxRestarts: number;
  /** A pod that was Ready and is not Ready for longer than this fails the canary. */
  notReadyGraceMs: number;
  /** The Deployment Available=False for longer than this fails the canary. watchCanaryHealth only. */
  unavailableGraceMs: number;
  /** A pod never Ready this long after the watch first saw it fails the canary. watchCanaryHealth only. */
  readyDeadlineMs: number;
}

export function checkLimits(limits: HealthLimits): HealthLimits {
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`health limit ${k} must be a number ≥ 0, got ${v}`);
  }
  return limits;
}

/** Container waiting reasons that never fix themselves within a release's time budget. */
export const FATAL_WAITING_REASONS: ReadonlySet<string> = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

export function podName(pod: k8s.V1Pod): string {
  return pod.metadata?.name ?? "?";
}

export function isPodReady(pod: k8s.V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Terminating pods do not count: they are on their way out (a scale-down or a replaced ReplicaSet). */
export const isTerminating = (pod: k8s.V1Pod): boolean => !!pod.metadata?.deletionTimestamp;

function allContainerStatuses(pod: k8s.V1Pod): k8s.V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/** The first immediate failure of a pod (fatal waiting reason, too many restarts, phase Failed), if any. */
export function podFailure(
  pod: k8s.V1Pod,
  limits: Pick<HealthLimits, "maxRestarts">,
  ns: string,
  deployment: string,
): HealthFailure | undefined {
  const name = podName(pod);
  const at = { namespace: ns, deployment, pod: name };
  for (const cs of allContainerStatuses(pod)) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && FATAL_WAITING_REASONS.has(waiting.reason)) {
      const detail = waiting.message ? `: ${waiting.message}` : "";
      return {
        ...at,
        container: cs.name,
        reason: waiting.reason as HealthReason,
        message: `pod ${name} container ${cs.name} is in ${waiting.reason}${detail} (${cs.restartCount ?? 0} restarts)`,
      };
    }
  }
  for (const cs of allContainerStatuses(pod)) {
    if ((cs.restartCount ?? 0) > limits.maxRestarts) {
      const last = cs.lastState?.terminated;
      const why = last ? `; last exit ${last.exitCode}${last.reason ? ` (${last.reason})` : ""}` : "";
      return {
        ...at,
        container: cs.name,
        reason: "RestartLimit",
        message: `pod ${name} container ${cs.name} restarted ${cs.restartCount} times, above the limit of ${limits.maxRestarts}${why}`,
      };
    }
  }
  if (pod.status?.phase === "Failed") {
    return {
      ...at,
      reason: "PodFailed",
      message: `pod ${name} failed${pod.status.reason ? ` (${pod.status.reason})` : ""}${pod.status.message ? `: ${pod.status.message}` : ""}`,
    };
  }
  return undefined;
}

/** One line about a pod for error messages: "name (Running, not Ready: app waiting ContainerCreating)". */
export function describePod(pod: k8s.V1Pod): string {
  const parts: string[] = [pod.status?.phase ?? "Unknown", isPodReady(pod) ? "Ready" : "not Ready"];
  for (const cs of allContainerStatuses(pod)) {
    if (cs.state?.waiting) parts.push(`${cs.name} waiting ${cs.state.waiting.reason ?? ""}`.trim());
    else if (cs.state?.terminated) parts.push(`${cs.name} terminated ${cs.state.terminated.reason ?? cs.state.terminated.exitCode}`);
    else if (cs.state?.running && !cs.ready) parts.push(`${cs.name} running, not ready`);
    if ((cs.restartCount ?? 0) > 0) parts.push(`${cs.name} ${cs.restartCount} restarts`);
  }
  const notReady = (pod.status?.conditions ?? []).find((c) => c.type === "Ready" && c.status !== "True");
  if (notReady?.message && !allContainerStatuses(pod).length) parts.push(notReady.message);
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === "PodScheduled" && c.status === "False");
  if (scheduled) parts.push(`unschedulable${scheduled.message ? `: ${scheduled.message}` : ""}`);
  return `${podName(pod)} (${parts.join(", ")})`;
}

function condition(d: k8s.V1Deployment, type: string): k8s.V1DeploymentCondition | undefined {
  return (d.status?.conditions ?? []).find((c) => c.type === type);
}

/** True once the Deployment controller has seen the current spec (conditions are not stale). */
export const observedCurrent = (d: k8s.V1Deployment): boolean => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);

/** The Deployment's own failure conditions: ProgressDeadlineExceeded, ReplicaFailure (e.g. quota). */
export function deploymentFailure(d: k8s.V1Deployment, ns: string): HealthFailure | undefined {
  const deployment = d.metadata?.name ?? "?";
  if (!observedCurrent(d)) return undefined;
  const progressing = condition(d, "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return {
      namespace: ns,
      deployment,
      reason: "ProgressDeadlineExceeded",
      message: `Deployment ${deployment}: Progressing=False ProgressDeadlineExceeded${progressing.message ? ` (${progressing.message})` : ""}`,
    };
  }
  const replicaFailure = condition(d, "ReplicaFailure");
  if (replicaFailure?.status === "True") {
    return {
      namespace: ns,
      deployment,
      reason: "ReplicaFailure",
      message:
        `Deployment ${deployment}: ReplicaFailure ${replicaFailure.reason ?? ""}${replicaFailure.message ? ` (${replicaFailure.message})` : ""}`.trim(),
    };
  }
  return undefined;
}

/** Available=False, with its reason, or undefined. */
export function unavailableCondition(d: k8s.V1Deployment): k8s.V1DeploymentCondition | undefined {
  const available = condition(d, "Available");
  return available?.status === "False" ? available : undefined;
}

/**
 * The kubectl rollout-status rule for `replicas` pods: the controller saw the spec, every replica is updated,
 * no old ones remain, and every updated one is available.
 */
export function rolloutComplete(d: k8s.V1Deployment, replicas: number): boolean {
  const s = d.status ?? {};
  return (
    observedCurrent(d) &&
    (d.spec?.replicas ?? 1) === replicas &&
    (s.updatedReplicas ?? 0) === replicas &&
    (s.replicas ?? 0) === replicas &&
    (s.availableReplicas ?? 0) === replicas
  );
}

/** "1/2 updated, 0/2 available, 3 total" for messages. */
export function rolloutProgress(d: k8s.V1Deployment, replicas: number): string {
  const s = d.status ?? {};
  const stale = observedCurrent(d) ? "" : ", spec change not yet observed";
  const spec = (d.spec?.replicas ?? 1) === replicas ? "" : `, spec.replicas ${d.spec?.replicas ?? 1}`;
  return `${s.updatedReplicas ?? 0}/${replicas} updated, ${s.availableReplicas ?? 0}/${replicas} available, ${s.replicas ?? 0} total${spec}${stale}`;
}

/** Whether `labels` satisfy a Deployment's selector (matchLabels and matchExpressions), as the API server decides. */
export function matchesSelector(sel: k8s.V1LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  const exprs = sel?.matchExpressions ?? [];
  if (!Object.keys(sel?.matchLabels ?? {}).length && !exprs.length) return false; // an empty selector selects nothing here
  if (!Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => l[k] === v)) return false;
  return exprs.every((e) => {
    const has = Object.hasOwn(l, e.key);
    if (e.operator === "In") return has && (e.values ?? []).includes(l[e.key]);
    if (e.operator === "NotIn") return !has || !(e.values ?? []).includes(l[e.key]);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return false;
  });
}

/**
 * True if the pod belongs to `deployment`: its ReplicaSet owner is `<deployment>-<pod-template-hash>`. Stable and
 * canary Deployments often share labels (and "x-canary" starts with "x-"), so the selector alone is not enough.
 * Pods without the hash label are accepted on the selector alone.
 */
export function ownedBy(pod: k8s.V1Pod, deployment: string): boolean {
  const hash = pod.metadata?.labels?.["pod-template-hash"];
  const owner = (pod.metadata?.ownerReferences ?? []).find((o) => o.kind === "ReplicaSet");
  if (!hash || !owner) return true;
  return owner.name === `${deployment}-${hash}`;
}
