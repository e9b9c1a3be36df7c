/**
 * Follows one Deployment and its pods, as the run's ClusterWatch sees them, and reports the first health failure.
 * The engine under watchCanaryHealth and waitAvailable: it makes no request of its own. Times are measured on this
 * process's monotonic clock from when a change was observed, never from the cluster's timestamps.
 */
import type * as k8s from "@kubernetes/client-node";
import { FailedError } from "../errors.ts";
import type { Change, ClusterWatch } from "./cluster-watch.ts";
import {
  type HealthFailure,
  type HealthLimits,
  deploymentFailure,
  describePod,
  isPodReady,
  isTerminating,
  matchesSelector,
  observedCurrent,
  ownedBy,
  podFailure,
  podName,
  unavailableCondition,
} from "./pod-health.ts";

export interface MonitorOptions {
  cluster: ClusterWatch;
  deployment: string;
  limits: HealthLimits;
  signal?: AbortSignal;
  /** watchCanaryHealth: also fail on Available=False past its grace and on pods never Ready past the deadline. */
  steadyState: boolean;
  /** Called with the Deployment after every change (waitAvailable's completion check). */
  onDeployment?: (d: k8s.V1Deployment) => void;
}

interface PodState {
  pod: k8s.V1Pod;
  firstSeen: number;
  everReady: boolean;
  notReadySince?: number;
  /** notReadySince on the wall clock, for the record's detection times. */
  notReadySinceWall?: number;
}

export type MonitorEnd = { kind: "failure"; failure: HealthFailure } | { kind: "stopped" };

const now = (): number => performance.now();

export class CanaryMonitor {
  private readonly o: MonitorOptions;
  private readonly pods = new Map<string, PodState>();
  private deploymentObj: k8s.V1Deployment | undefined;
  private unavailableSince: number | undefined;
  private unavailableSinceWall: number | undefined;
  private failure: HealthFailure | undefined;
  private finish: ((end: MonitorEnd) => void) | undefined;
  private stopped = false;
  /** One-shot checks at the moment a grace runs out, so a failure is found then, not at the next tick. */
  private readonly deadlines = new Set<NodeJS.Timeout>();
  private running = false;

  constructor(o: MonitorOptions) {
    this.o = o;
  }

  /** Stop watching; run() then resolves with "stopped" (unless a failure was found first). */
  stop(): void {
    this.stopped = true;
    this.finish?.({ kind: "stopped" });
  }

  /** The pods as last seen, one line each, for messages. */
  describePods(): string[] {
    return [...this.pods.values()].map((p) => describePod(p.pod));
  }

  get deploymentNow(): k8s.V1Deployment | undefined {
    return this.deploymentObj;
  }

  /** Resolves with the first failure, or "stopped" after stop() / the caller's signal. Rejects when the watch is lost. */
  async run(): Promise<MonitorEnd> {
    const { cluster, deployment, signal } = this.o;
    const d = cluster.deployment(deployment);
    if (!d) throw new FailedError(`Deployment ${cluster.namespace}/${deployment} not found: cannot watch its health`);
    if (this.stopped || signal?.aborted) return { kind: "stopped" };
    const ended = new Promise<MonitorEnd>((resolve) => (this.finish = resolve));
    const onAbort = () => this.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    const unsubscribe = cluster.subscribe((c) => this.onChange(c));
    const l = this.o.limits;
    const tickMs = Math.min(1_000, Math.max(20, Math.min(l.notReadyGraceMs, l.unavailableGraceMs, l.readyDeadlineMs) / 4));
    const timer = setInterval(() => this.evaluate(), tickMs);
    try {
      this.running = true;
      // What is there now: pods present at the start count as "initial" (see notePod).
      for (const p of cluster.pods()) if (this.counts(p)) this.notePod(p, true);
      this.noteDeployment(d);
      return await Promise.race([ended, cluster.lost()]);
    } finally {
      this.running = false;
      clearInterval(timer);
      for (const t of this.deadlines) clearTimeout(t);
      this.deadlines.clear();
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private onChange(c: Change): void {
    const { cluster, deployment } = this.o;
    if (c.kind === "pod") {
      if (c.type === "LIST") {
        const fresh = new Map(
          cluster
            .pods()
            .filter((p) => this.counts(p))
            .map((p) => [podName(p), p]),
        );
        for (const name of this.pods.keys()) if (!fresh.has(name)) this.pods.delete(name);
        for (const p of fresh.values()) this.notePod(p);
      } else {
        const p = c.object as k8s.V1Pod;
        if (c.type === "DELETED" || !this.counts(p)) this.pods.delete(podName(p));
        else this.notePod(p);
      }
    } else if (c.kind === "deployment" && (c.type === "LIST" || c.object?.metadata?.name === deployment)) {
      const d = cluster.deployment(deployment);
      if (!d) {
        return this.fail({
          namespace: cluster.namespace,
          deployment,
          reason: "DeploymentDeleted",
          message: `Deployment ${deployment} was deleted`,
        });
      }
      return this.noteDeployment(d);
    }
    this.evaluate();
  }

  private counts(p: k8s.V1Pod): boolean {
    const d = this.deploymentObj ?? this.o.cluster.deployment(this.o.deployment);
    return !isTerminating(p) && matchesSelector(d?.spec?.selector, p.metadata?.labels) && ownedBy(p, this.o.deployment);
  }

  /**
   * `initial`: the pod was there when the monitor began. In steady state the pipeline starts watching only once
   * the canary was Available, so such a pod whose containers are running but which is not Ready has lost its
   * readiness: it gets the not-Ready grace, not the (much longer) ready deadline of a starting pod.
   */
  private notePod(p: k8s.V1Pod, initial = false): void {
    const name = podName(p);
    const t = now();
    const prev = this.pods.get(name);
    const ready = isPodReady(p);
    const running =
      (p.status?.containerStatuses ?? []).length > 0 && (p.status?.containerStatuses ?? []).every((cs) => !!cs.state?.running);
    const state: PodState = prev ?? { pod: p, firstSeen: t, everReady: initial && this.o.steadyState && running };
    state.pod = p;
    if (ready) {
      state.everReady = true;
      state.notReadySince = undefined;
      state.notReadySinceWall = undefined;
    } else if (state.everReady && state.notReadySince === undefined) {
      state.notReadySince = t;
      state.notReadySinceWall = Date.now();
      this.checkAfter(this.o.limits.notReadyGraceMs);
    }
    this.pods.set(name, state);
  }

  private noteDeployment(d: k8s.V1Deployment): void {
    this.deploymentObj = d;
    if (unavailableCondition(d)) {
      if (this.unavailableSince === undefined) this.checkAfter(this.o.limits.unavailableGraceMs);
      this.unavailableSince ??= now();
      this.unavailableSinceWall ??= Date.now();
    } else {
      this.unavailableSince = undefined;
      this.unavailableSinceWall = undefined;
    }
    this.evaluate();
    if (!this.failure && !this.stopped && this.o.cluster.isCurrent(this.o.deployment)) this.o.onDeployment?.(d);
  }

  /** Evaluate again just after `ms`, when a grace that starts now runs out. */
  private checkAfter(ms: number): void {
    if (!this.running) return;
    const t = setTimeout(() => {
      this.deadlines.delete(t);
      this.evaluate();
    }, ms + 1);
    this.deadlines.add(t);
  }

  /** Pods the verdict is about: those of the current ReplicaSet once it is known, else all of the Deployment's. */
  private judged(): PodState[] {
    // Until the controller has seen the current spec, the revision (hence the current ReplicaSet) may be stale.
    if (!this.deploymentObj || !observedCurrent(this.deploymentObj) || !this.o.cluster.isCurrent(this.o.deployment)) return [];
    const all = [...this.pods.values()];
    const hash = this.o.cluster.currentHash(this.o.deployment);
    return hash ? all.filter((s) => (s.pod.metadata?.labels?.["pod-template-hash"] ?? hash) === hash) : all;
  }

  private fail(f: HealthFailure): void {
    if (this.failure || this.stopped) return;
    this.failure = { ...f, firstSeenAt: f.firstSeenAt ?? Date.now() };
    this.finish?.({ kind: "failure", failure: this.failure });
  }

  /** Check everything against the limits; records the first failure. */
  private evaluate(): void {
    if (this.failure || this.stopped) return;
    const { limits, steadyState, deployment } = this.o;
    const namespace = this.o.cluster.namespace;
    const t = now();
    const judged = this.judged();
    for (const s of judged) {
      const f = podFailure(s.pod, limits, namespace, deployment);
      if (f) return this.fail(f);
    }
    for (const s of judged) {
      const name = podName(s.pod);
      if (s.notReadySince !== undefined && t - s.notReadySince > limits.notReadyGraceMs) {
        return this.fail({
          namespace,
          deployment,
          pod: name,
          reason: "NotReady",
          message: `pod ${describePod(s.pod)} was Ready and has not been Ready for over ${limits.notReadyGraceMs} ms`,
          ...(s.notReadySinceWall !== undefined ? { firstSeenAt: s.notReadySinceWall } : {}),
        });
      }
      if (steadyState && !s.everReady && t - s.firstSeen > limits.readyDeadlineMs) {
        return this.fail({
          namespace,
          deployment,
          pod: name,
          reason: "NeverReady",
          message: `pod ${describePod(s.pod)} has not become Ready within ${limits.readyDeadlineMs} ms`,
        });
      }
    }
    if (this.deploymentObj) {
      const f = deploymentFailure(this.deploymentObj, namespace);
      if (f) return this.fail(f);
      const unavailable = unavailableCondition(this.deploymentObj);
      if (steadyState && unavailable && this.unavailableSince !== undefined && t - this.unavailableSince > limits.unavailableGraceMs) {
        return this.fail({
          namespace,
          deployment,
          reason: "Unavailable",
          message:
            `Deployment ${deployment}: Available=False ${unavailable.reason ?? ""} for over ${limits.unavailableGraceMs} ms` +
            (unavailable.message ? ` (${unavailable.message})` : ""),
          ...(this.unavailableSinceWall !== undefined ? { firstSeenAt: this.unavailableSinceWall } : {}),
        });
      }
    }
  }
}
