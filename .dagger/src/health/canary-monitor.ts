/**
 * Follows one Deployment and its pods (two list-watches and a clock) and reports the first health failure.
 * The engine under watchCanaryHealth and waitAvailable; times are measured on this process's monotonic clock
 * from when a change was observed, never from the cluster's timestamps.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { isNotFound, describeApiError } from "../kube/api-errors.ts";
import { FailedError } from "../errors.ts";
import { listWatch } from "./list-watch.ts";
import {
  type HealthFailure,
  type HealthLimits,
  deploymentFailure,
  describePod,
  isPodReady,
  isTerminating,
  observedCurrent,
  ownedBy,
  podFailure,
  podName,
  selectorString,
  unavailableCondition,
} from "./pod-health.ts";

export interface MonitorOptions {
  kube: Kube;
  namespace: string;
  deployment: string;
  limits: HealthLimits;
  signal?: AbortSignal;
  /** watchCanaryHealth: also fail on Available=False past its grace and on pods never Ready past the deadline. */
  steadyState: boolean;
  /** Called with the Deployment after every change (waitAvailable's completion check). */
  onDeployment?: (d: k8s.V1Deployment) => void;
  /** Called when a watch is re-established (for logs and tests). */
  onRewatch?: (what: "pods" | "deployment", why: string) => void;
}

interface PodState {
  pod: k8s.V1Pod;
  firstSeen: number;
  everReady: boolean;
  notReadySince?: number;
}

export type MonitorEnd = { kind: "failure"; failure: HealthFailure } | { kind: "stopped" };

const now = (): number => performance.now();

export class CanaryMonitor {
  private readonly o: MonitorOptions;
  private readonly pods = new Map<string, PodState>();
  private deploymentObj: k8s.V1Deployment | undefined;
  private unavailableSince: number | undefined;
  /** pod-template-hash of the Deployment's current ReplicaSet; pods of older ones are on their way out. */
  private currentHash: string | undefined;
  private hashForRevision: string | undefined;
  /** Pod verdicts wait for the current ReplicaSet's hash (one LIST), so an old pod is not blamed meanwhile. */
  private hashPending = false;
  private listedPods = false;
  private failure: HealthFailure | undefined;
  private readonly internal = new AbortController();

  constructor(o: MonitorOptions) {
    this.o = o;
  }

  /** Stop watching; run() then resolves with "stopped" (unless a failure was found first). */
  stop(): void {
    this.internal.abort();
  }

  /** The pods as last seen, one line each, for messages. */
  describePods(): string[] {
    return [...this.pods.values()].map((p) => describePod(p.pod));
  }

  get deploymentNow(): k8s.V1Deployment | undefined {
    return this.deploymentObj;
  }

  /** Resolves with the first failure, or "stopped" after stop() / the caller's signal. Rejects when the API is lost. */
  async run(): Promise<MonitorEnd> {
    const { kube, namespace, deployment } = this.o;
    let d: k8s.V1Deployment;
    try {
      d = await kube.apps.readNamespacedDeployment({ name: deployment, namespace });
    } catch (err) {
      if (isNotFound(err)) throw new FailedError(`Deployment ${namespace}/${deployment} not found: cannot watch the canary's health`);
      throw new FailedError(`could not read Deployment ${namespace}/${deployment} to watch the canary's health: ${describeApiError(err)}`);
    }
    const labelSelector = selectorString(d.spec?.selector);
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, this.internal.signal]) : this.internal.signal;
    if (signal.aborted) return { kind: "stopped" };

    const l = this.o.limits;
    const tickMs = Math.min(1_000, Math.max(20, Math.min(l.notReadyGraceMs, l.unavailableGraceMs, l.readyDeadlineMs) / 4));
    const timer = setInterval(() => this.evaluate(), tickMs);
    const rewatch = (what: "pods" | "deployment") => (why: string, detail?: string) =>
      this.o.onRewatch?.(what, detail ? `${why}: ${detail}` : why);

    const loops = [
      listWatch<k8s.V1Pod>({
        kube,
        path: `/api/v1/namespaces/${namespace}/pods`,
        query: { labelSelector },
        list: () => kube.core.listNamespacedPod({ namespace, labelSelector }),
        signal,
        onList: (items) => {
          const fresh = new Map(items.filter((p) => this.counts(p)).map((p) => [podName(p), p]));
          for (const name of this.pods.keys()) if (!fresh.has(name)) this.pods.delete(name);
          for (const p of fresh.values()) this.notePod(p, !this.listedPods);
          this.listedPods = true;
          this.evaluate();
        },
        onEvent: (type, p) => {
          if (type === "DELETED" || !this.counts(p)) this.pods.delete(podName(p));
          else this.notePod(p);
          this.evaluate();
        },
        onRewatch: rewatch("pods"),
      }),
      listWatch<k8s.V1Deployment>({
        kube,
        path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        query: { fieldSelector: `metadata.name=${deployment}` },
        list: () => kube.apps.listNamespacedDeployment({ namespace, fieldSelector: `metadata.name=${deployment}` }),
        signal,
        onList: (items) => {
          const mine = items.find((x) => x.metadata?.name === deployment);
          if (mine) this.noteDeployment(mine);
          else this.fail({ namespace, deployment, reason: "DeploymentDeleted", message: `Deployment ${deployment} no longer exists` });
        },
        onEvent: (type, x) => {
          if (x.metadata?.name !== deployment) return;
          if (type === "DELETED")
            this.fail({ namespace, deployment, reason: "DeploymentDeleted", message: `Deployment ${deployment} was deleted` });
          else this.noteDeployment(x);
        },
        onRewatch: rewatch("deployment"),
      }),
    ];
    try {
      const results = await Promise.allSettled(loops.map((p) => p.finally(() => this.internal.abort())));
      const lost = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (this.failure) return { kind: "failure", failure: this.failure };
      if (lost && !this.o.signal?.aborted) {
        throw new FailedError(
          `lost the watch on the canary ${namespace}/${deployment} and could not re-establish it: ${describeApiError(lost.reason)}`,
        );
      }
      return { kind: "stopped" };
    } finally {
      clearInterval(timer);
    }
  }

  private counts(p: k8s.V1Pod): boolean {
    return !isTerminating(p) && ownedBy(p, this.o.deployment);
  }

  /**
   * `initial`: the pod was there when the watch began. In steady state the pipeline starts watching only once
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
    } else if (state.everReady && state.notReadySince === undefined) {
      state.notReadySince = t;
    }
    this.pods.set(name, state);
  }

  private noteDeployment(d: k8s.V1Deployment): void {
    this.deploymentObj = d;
    const revision = d.metadata?.annotations?.["deployment.kubernetes.io/revision"];
    if (revision && revision !== this.hashForRevision) {
      this.hashForRevision = revision;
      this.hashPending = true;
      this.resolveCurrentHash(d, revision)
        .catch(() => {
          // Without it every pod of the Deployment is judged, which is only stricter.
        })
        .finally(() => {
          if (this.hashForRevision === revision) this.hashPending = false;
          this.evaluate();
        });
    }
    if (unavailableCondition(d)) this.unavailableSince ??= now();
    else this.unavailableSince = undefined;
    this.evaluate();
    if (!this.failure) this.o.onDeployment?.(d);
  }

  /** Find the current ReplicaSet (same revision annotation as the Deployment) and remember its pod-template-hash. */
  private async resolveCurrentHash(d: k8s.V1Deployment, revision: string): Promise<void> {
    const { kube, namespace, deployment } = this.o;
    const list = await kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: selectorString(d.spec?.selector) });
    const rs = list.items.find(
      (x) =>
        x.metadata?.annotations?.["deployment.kubernetes.io/revision"] === revision &&
        (x.metadata?.ownerReferences ?? []).some((o) => o.kind === "Deployment" && o.name === deployment),
    );
    const hash = rs?.metadata?.labels?.["pod-template-hash"];
    if (this.hashForRevision === revision) this.currentHash = hash;
  }

  /** Pods the verdict is about: those of the current ReplicaSet once it is known, else all of the Deployment's. */
  private judged(): PodState[] {
    // Until the controller has seen the current spec, the revision (hence the current ReplicaSet) may be stale.
    if (!this.deploymentObj || this.hashPending || !observedCurrent(this.deploymentObj)) return [];
    const all = [...this.pods.values()];
    const hash = this.currentHash;
    return hash ? all.filter((s) => (s.pod.metadata?.labels?.["pod-template-hash"] ?? hash) === hash) : all;
  }

  private fail(f: HealthFailure): void {
    if (this.failure) return;
    this.failure = f;
    this.internal.abort();
  }

  /** Check everything against the limits; records the first failure. */
  private evaluate(): void {
    if (this.failure) return;
    const { namespace, deployment, limits, steadyState } = this.o;
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
          message: `Deployment ${deployment}: Available=False ${unavailable.reason ?? ""} for over ${limits.unavailableGraceMs} ms${unavailable.message ? ` (${unavailable.message})` : ""}`,
        });
      }
    }
  }
}
