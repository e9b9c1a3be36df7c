/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods per ReplicaSet (named `<rs>-<random5>`, owned
 * through a controller ownerReference), deletes the least valuable pods first when scaling down (the order of
 * the real controller's ActivePods ranking), and reports replicas / readyReplicas / availableReplicas
 * (minReadySeconds) and observedGeneration.
 */
import type { Clock } from "../clock.ts";
import { StoreError, type Store, type StoreEvent } from "../store.ts";
import { applyDefaults } from "../api/defaults.ts";
import { randomSuffix } from "./names.ts";
import { WorkQueue } from "./queue.ts";
import { matchesSelector } from "./selectors.ts";
import { conditionOf, controllerOf, isPodActive, isPodReady, PODS, REPLICASETS, type Pod, type ReplicaSet } from "./types.ts";

export class ReplicaSetController {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly availabilityTimers = new Map<string, () => void>();

  constructor(store: Store, clock: Clock, onError?: (key: string, err: unknown) => void) {
    this.store = store;
    this.clock = clock;
    this.queue = new WorkQueue((key) => this.sync(key), onError);
  }

  start(): void {
    this.unsubscribe.push(this.store.watch(REPLICASETS, undefined, undefined, (e) => this.queue.add(keyOf(e.object.metadata))));
    this.unsubscribe.push(
      this.store.watch(PODS, undefined, undefined, (e: StoreEvent) => {
        const owner = controllerOf(e.object);
        if (owner?.kind === "ReplicaSet") this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
      }),
    );
    for (const rs of this.store.list(REPLICASETS).items) this.queue.add(keyOf(rs.metadata));
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const cancel of this.availabilityTimers.values()) cancel();
    this.availabilityTimers.clear();
    this.queue.stop();
  }

  private sync(key: string): void {
    const [namespace, name] = key.split("/") as [string, string];
    const rs = this.store.get(REPLICASETS, namespace, name) as ReplicaSet | undefined;
    if (!rs) return;
    const pods = this.ownedPods(rs).filter(isPodActive);
    const desired = rs.spec.replicas ?? 1;
    const diff = pods.length - desired;
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) pods.push(this.createPod(rs));
    } else if (diff > 0) {
      const victims = [...pods].sort(deletionOrder).slice(0, diff);
      for (const p of victims) {
        try {
          this.store.delete(PODS, namespace, p.metadata.name);
        } catch (err) {
          if (!(err instanceof StoreError && err.code === 404)) throw err;
        }
      }
      const gone = new Set(victims.map((p) => p.metadata.uid));
      pods.splice(0, pods.length, ...pods.filter((p) => !gone.has(p.metadata.uid)));
    }
    this.updateStatus(rs, pods);
  }

  private ownedPods(rs: ReplicaSet): Pod[] {
    return (this.store.list(PODS, rs.metadata.namespace).items as Pod[]).filter((p) => controllerOf(p)?.uid === rs.metadata.uid);
  }

  private createPod(rs: ReplicaSet): Pod {
    const template = rs.spec.template ?? {};
    for (;;) {
      const pod: Pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${rs.metadata.name}-${randomSuffix()}`,
          generateName: `${rs.metadata.name}-`,
          namespace: rs.metadata.namespace,
          labels: { ...(template.metadata?.labels ?? {}) },
          ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: rs.metadata.name,
              uid: rs.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { ...structuredClone(template.spec ?? {}), containers: structuredClone(template.spec?.containers ?? []) },
        status: { phase: "Pending", qosClass: "BestEffort" },
      };
      applyDefaults(pod, this.store); // as the API server would on the controller's create
      try {
        return this.store.create(PODS, pod) as Pod;
      } catch (err) {
        if (err instanceof StoreError && err.code === 409) continue; // name collision: draw another suffix
        throw err;
      }
    }
  }

  private updateStatus(rs: ReplicaSet, pods: Pod[]): void {
    const minReady = rs.spec.minReadySeconds ?? 0;
    const now = this.clock.nowMs();
    let ready = 0;
    let available = 0;
    let nextAvailableAt = Infinity;
    for (const p of pods) {
      if (!isPodReady(p)) continue;
      ready++;
      const since = Date.parse(conditionOf(p.status?.conditions, "Ready")?.lastTransitionTime ?? "") || 0;
      const at = since + minReady * 1000;
      if (minReady === 0 || at <= now) available++;
      else nextAvailableAt = Math.min(nextAvailableAt, at);
    }
    const key = keyOf(rs.metadata);
    this.availabilityTimers.get(key)?.();
    this.availabilityTimers.delete(key);
    if (nextAvailableAt < Infinity) {
      this.availabilityTimers.set(
        key,
        this.clock.after((nextAvailableAt - now) / 1000 + 0.001, () => this.queue.add(key)),
      );
    }
    // replicas is always present; the other counts are omitempty in the API, so zeros are left out.
    const status: NonNullable<ReplicaSet["status"]> = { replicas: pods.length };
    const counts = {
      fullyLabeledReplicas: pods.filter((p) =>
        matchesSelector({ matchLabels: rs.spec.template?.metadata?.labels ?? {} }, p.metadata.labels),
      ).length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 0,
    };
    for (const [k, v] of Object.entries(counts)) if (v) status[k as keyof typeof counts] = v;
    if (rs.status?.conditions?.length) status.conditions = rs.status.conditions;
    if (JSON.stringify(status) === JSON.stringify(rs.status)) return;
    this.store.mutate(REPLICASETS, rs.metadata.namespace, rs.metadata.name, (o) => {
      o.status = status;
    });
  }
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** The real controller's ActivePods order: the pods it would rather lose come first. */
function deletionOrder(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phase = (p: Pod) => PHASE_RANK[p.status?.phase ?? "Pending"] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  if (isPodReady(a) && isPodReady(b)) {
    // Ready for less time goes first.
    const since = (p: Pod) => Date.parse(conditionOf(p.status?.conditions, "Ready")?.lastTransitionTime ?? "") || 0;
    if (since(a) !== since(b)) return since(b) - since(a);
  }
  const restarts = (p: Pod) => Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount));
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  // Newer first.
  return (Date.parse(b.metadata.creationTimestamp ?? "") || 0) - (Date.parse(a.metadata.creationTimestamp ?? "") || 0);
}

function keyOf(m: { namespace?: string; name: string }): string {
  return `${m.namespace ?? "default"}/${m.name}`;
}
