/**
 * The canary's health as the pipeline judges it: Available before traffic (I1), and while it serves, no crash
 * loop, no image pull failure, no restarts beyond the limit, no pod dropping out of Ready, no failing
 * Deployment condition. Polling (not a watch) on purpose: a dropped watch cannot hide a failure, and each poll
 * is two small requests per service.
 */
import type * as k8s from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kube } from "../kube/client.ts";

const FATAL_WAITING = new Set(["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

export class CanaryUnhealthy extends Error {
  readonly deployment: string;
  constructor(deployment: string, reason: string) {
    super(`${deployment}: ${reason}`);
    this.name = "CanaryUnhealthy";
    this.deployment = deployment;
  }
}

async function podsOf(kube: Kube, namespace: string, d: k8s.V1Deployment): Promise<k8s.V1Pod[]> {
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
  return (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** The first fatal pod or Deployment condition, if any. Pure. */
export function fatalReason(d: k8s.V1Deployment, pods: k8s.V1Pod[], restartBaseline: Map<string, number>, maxRestarts: number): string | undefined {
  for (const pod of pods) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const waiting = cs.state?.waiting?.reason;
      if (waiting && FATAL_WAITING.has(waiting)) return `pod ${pod.metadata?.name} container ${cs.name} is in ${waiting}${cs.state?.waiting?.message ? ` (${cs.state.waiting.message})` : ""}`;
      const base = restartBaseline.get(`${pod.metadata?.name}/${cs.name}`) ?? 0;
      if (cs.restartCount - base > maxRestarts) return `pod ${pod.metadata?.name} container ${cs.name} restarted ${cs.restartCount - base} times (limit ${maxRestarts})`;
    }
  }
  for (const c of d.status?.conditions ?? []) {
    if (c.type === "Progressing" && c.status === "False") return `Deployment condition Progressing=False (${c.reason}: ${c.message ?? ""})`;
    if (c.type === "ReplicaFailure" && c.status === "True") return `Deployment condition ReplicaFailure (${c.reason}: ${c.message ?? ""})`;
  }
  return undefined;
}

export interface WaitAvailableOptions {
  namespace: string;
  deployment: string;
  replicas: number;
  timeoutMs: number;
  maxRestarts: number;
  signal?: AbortSignal;
  intervalMs?: number;
  onWaiting?: (what: string) => void;
}

/** Wait until `replicas` pods of the current template are Available; fail fast on a fatal pod state. */
export async function waitCanaryAvailable(kube: Kube, o: WaitAvailableOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = "";
  for (;;) {
    o.signal?.throwIfAborted();
    const d = await kube.apps.readNamespacedDeployment({ name: o.deployment, namespace: o.namespace });
    const s = d.status ?? {};
    const observed = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    const available = s.availableReplicas ?? 0;
    const updated = s.updatedReplicas ?? 0;
    if (observed && updated >= o.replicas && available >= o.replicas && (s.replicas ?? 0) <= updated) return;
    const pods = await podsOf(kube, o.namespace, d);
    const fatal = fatalReason(d, pods, new Map(), o.maxRestarts);
    if (fatal) throw new CanaryUnhealthy(o.deployment, fatal);
    const waitingFor = `${o.deployment}: ${available} of ${o.replicas} pods Available`;
    if (waitingFor !== last) o.onWaiting?.(waitingFor);
    last = waitingFor;
    if (Date.now() >= deadline) throw new CanaryUnhealthy(o.deployment, `only ${available} of ${o.replicas} pods Available after ${Math.round(o.timeoutMs / 1000)} s`);
    await sleep(o.intervalMs ?? 250, undefined, o.signal ? { signal: o.signal } : {});
  }
}

export interface WatchHealthOptions {
  namespace: string;
  deployment: string;
  maxRestarts: number;
  signal: AbortSignal;
  intervalMs?: number;
}

/**
 * Watch until `signal` aborts. Resolves undefined when the window ended healthy; rejects with CanaryUnhealthy
 * at the first failure. Restarts count from the window's start.
 */
export async function watchCanaryHealth(kube: Kube, o: WatchHealthOptions): Promise<void> {
  const baseline = new Map<string, number>();
  let first = true;
  while (!o.signal.aborted) {
    let d: k8s.V1Deployment;
    let pods: k8s.V1Pod[];
    try {
      d = await kube.apps.readNamespacedDeployment({ name: o.deployment, namespace: o.namespace });
      pods = await podsOf(kube, o.namespace, d);
    } catch (err) {
      if (o.signal.aborted) return;
      throw err;
    }
    if (first) {
      for (const p of pods) for (const cs of p.status?.containerStatuses ?? []) baseline.set(`${p.metadata?.name}/${cs.name}`, cs.restartCount);
      first = false;
    }
    const fatal = fatalReason(d, pods, baseline, o.maxRestarts);
    if (fatal) throw new CanaryUnhealthy(o.deployment, fatal);
    const want = d.spec?.replicas ?? 0;
    const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
    if (ready < want) throw new CanaryUnhealthy(o.deployment, `${want - ready} of ${want} canary pods are not Ready`);
    try {
      await sleep(o.intervalMs ?? 1000, undefined, { signal: o.signal });
    } catch {
      return;
    }
  }
}
