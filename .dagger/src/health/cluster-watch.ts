/**
 * What a run sees of its namespace: the Deployments, ReplicaSets and Pods, each followed by one list-watch for as
 * long as the run lasts (an informer, as a controller has) and shared by every health monitor, every wait for a
 * rollout and every read the pipeline makes of them. Waiting costs no request, whatever the number of replicas:
 * two requests per kind to start, then one per re-established watch.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { FailedError } from "../errors.ts";
import { describeApiError } from "../kube/api-errors.ts";
import { ownedReplicaSets, POD_TEMPLATE_HASH, revisionOf } from "../kube/deployments.ts";
import { listWatch, type WatchEventType } from "./list-watch.ts";

export type WatchedKind = "deployment" | "replicaset" | "pod";

/** One change seen: an event, or "LIST" when a kind was listed again (its whole content replaced). */
export interface Change {
  kind: WatchedKind;
  type: WatchEventType | "LIST";
  object?: k8s.V1Deployment | k8s.V1ReplicaSet | k8s.V1Pod;
}

type Named = { metadata?: { name?: string; resourceVersion?: string } };

/** Seconds a watch connection asks the server for before it is re-established (from the last resourceVersion). */
const WATCH_SECONDS = 300;

export class ClusterWatch {
  readonly namespace: string;
  private readonly kube: Kube;
  private readonly stores: Record<WatchedKind, Map<string, Named>> = { deployment: new Map(), replicaset: new Map(), pod: new Map() };
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly abort = new AbortController();
  private readonly onRewatch: ((what: WatchedKind, why: string) => void) | undefined;
  private loops: Promise<void> | undefined;
  private listed = new Set<WatchedKind>();
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  private fail!: (err: Error) => void;
  /** The generation of each Deployment as this run last changed it: the view is stale until it shows at least that. */
  private readonly written = new Map<string, number>();

  constructor(kube: Kube, namespace: string, opts: { onRewatch?: (what: WatchedKind, why: string) => void } = {}) {
    this.kube = kube;
    this.namespace = namespace;
    this.onRewatch = opts.onRewatch;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined); // Observed through lost() and synced(); never an unhandled rejection.
  }

  /** Start following the namespace; synced() says when everything was listed once. Idempotent. */
  start(): this {
    if (this.loops) return this;
    const ns = this.namespace;
    const kube = this.kube;
    const follow = <T extends Named>(kind: WatchedKind, path: string, list: () => Promise<{ items: T[] }>) =>
      listWatch<T>({
        kube,
        path,
        list,
        signal: this.abort.signal,
        timeoutSeconds: WATCH_SECONDS,
        onList: (items) => {
          const store = this.stores[kind];
          store.clear();
          for (const o of items) store.set(o.metadata?.name ?? "", o);
          this.listed.add(kind);
          if (this.listed.size === 3) this.markReady();
          this.emit({ kind, type: "LIST" });
        },
        onEvent: (type, o) => {
          if (type === "DELETED") this.stores[kind].delete(o.metadata?.name ?? "");
          else this.stores[kind].set(o.metadata?.name ?? "", o);
          this.emit({ kind, type, object: o as Change["object"] });
        },
        onRewatch: (why, detail) => this.onRewatch?.(kind, detail ? `${why}: ${detail}` : why),
      }).catch((err: unknown) => {
        const lost = new FailedError(
          `lost the watch on the ${kind}s of namespace ${ns} and could not re-establish it: ${describeApiError(err)}`,
        );
        this.failure ??= lost;
        this.fail(lost);
        this.abort.abort(lost);
      });
    this.loops = Promise.all([
      follow<k8s.V1Deployment>("deployment", `/apis/apps/v1/namespaces/${ns}/deployments`, () =>
        kube.apps.listNamespacedDeployment({ namespace: ns }),
      ),
      follow<k8s.V1ReplicaSet>("replicaset", `/apis/apps/v1/namespaces/${ns}/replicasets`, () =>
        kube.apps.listNamespacedReplicaSet({ namespace: ns }),
      ),
      follow<k8s.V1Pod>("pod", `/api/v1/namespaces/${ns}/pods`, () => kube.core.listNamespacedPod({ namespace: ns })),
    ]).then(() => undefined);
    return this;
  }

  /** Resolves once Deployments, ReplicaSets and Pods have each been listed; rejects if the watch cannot start. */
  async synced(): Promise<void> {
    this.start();
    await Promise.race([this.ready, this.failed]);
  }

  /** Rejects (FailedError) when a watch was lost for good; never resolves otherwise. */
  lost(): Promise<never> {
    return this.failed;
  }

  /** The error the watch ended with, if it was lost. */
  get error(): Error | undefined {
    return this.failure;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loops;
  }

  /** Called with every change from now on; returns the unsubscribe function. */
  subscribe(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * A change this run made to a Deployment (the API's answer to it): until the watch shows that generation, what
   * it shows of the Deployment is older than the change, and nothing waits on it as if it were current.
   */
  noteWrite(d: k8s.V1Deployment): void {
    const name = d.metadata?.name;
    const generation = d.metadata?.generation;
    if (name && generation !== undefined) this.written.set(name, Math.max(this.written.get(name) ?? 0, generation));
  }

  /** The watch shows `name` as it is since this run's last change to it (or the run never changed it). */
  isCurrent(name: string): boolean {
    const d = this.deployment(name);
    return !!d && (d.metadata?.generation ?? 0) >= (this.written.get(name) ?? 0);
  }

  deployment(name: string): k8s.V1Deployment | undefined {
    return this.stores.deployment.get(name) as k8s.V1Deployment | undefined;
  }

  replicaSets(): k8s.V1ReplicaSet[] {
    return [...this.stores.replicaset.values()] as k8s.V1ReplicaSet[];
  }

  pods(): k8s.V1Pod[] {
    return [...this.stores.pod.values()] as k8s.V1Pod[];
  }

  /**
   * The ReplicaSet `deployment` runs now: owned by it, with the Deployment's revision. Undefined until the
   * controller has seen the current spec (the revision would be stale) or when none is found.
   */
  currentReplicaSet(deployment: string): k8s.V1ReplicaSet | undefined {
    const d = this.deployment(deployment);
    if (!d) return undefined;
    const revision = revisionOf(d);
    if (!revision || !this.isCurrent(deployment) || (d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return undefined;
    return ownedReplicaSets(d, this.replicaSets()).find((rs) => revisionOf(rs) === revision);
  }

  /** The pod-template-hash of the Deployment's current ReplicaSet (pods of older ones are on their way out). */
  currentHash(deployment: string): string | undefined {
    return this.currentReplicaSet(deployment)?.metadata?.labels?.[POD_TEMPLATE_HASH];
  }

  private emit(c: Change): void {
    for (const fn of [...this.listeners]) fn(c);
  }
}
