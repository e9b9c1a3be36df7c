/**
 * The objects that carry a run's weights (each router's `watched`: the route objects, or for the replicas router the
 * canary Deployment), watched as the pods are (one list-watch per object, named by a field selector, for as long as
 * the run lasts): during an observation window, a weight the run did not set is a change someone else
 * made (a hand edit, a GitOps re-apply, another run), and it ends the phase with the object, the weight and the
 * writer named (managedFields). Waiting costs no request: two per object for the whole run.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { describeChanger } from "../kube/managed-fields.ts";
import { listWatch } from "../health/list-watch.ts";
import type { TrafficRouter, WatchedRoute } from "./router.ts";

/** A weight found on a route object that is not the one the run set. */
export interface RouteChange {
  router: string;
  expected: number;
  /** The weight the object now gives; undefined when it cannot be read (a malformed annotation). */
  live: number | undefined;
  /** The change in one sentence: object, weights, who. */
  summary: string;
}

interface Seen {
  /** The object as last seen; undefined once deleted (or not there at the list). */
  object: unknown;
  listed: boolean;
}

const WATCH_SECONDS = 300;
const round = (n: number) => Math.round(n * 10) / 10;

export class RouteWatch {
  private readonly kube: Kube;
  private readonly targets: Array<{ router: TrafficRouter; route: WatchedRoute; seen: Seen }>;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<() => void>();
  private loops: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(kube: Kube, routers: readonly TrafficRouter[]) {
    this.kube = kube;
    this.targets = routers.flatMap((router) =>
      router.watched.map((route) => ({ router, route, seen: { object: undefined, listed: false } })),
    );
  }

  /** Start following every route object. Idempotent. */
  start(): this {
    if (this.loops) return this;
    this.loops = Promise.all(
      this.targets.map((t) =>
        listWatch<{ metadata?: { resourceVersion?: string } }>({
          kube: this.kube,
          path: t.route.path,
          query: { fieldSelector: `metadata.name=${t.route.ref.name}` },
          list: () => t.route.list() as Promise<{ items: Array<{ metadata?: { resourceVersion?: string } }> }>,
          signal: this.abort.signal,
          timeoutSeconds: WATCH_SECONDS,
          onList: (items) => {
            t.seen = { object: items[0], listed: true };
            this.emit();
          },
          onEvent: (type, o) => {
            t.seen = { object: type === "DELETED" ? undefined : o, listed: true };
            this.emit();
          },
        }).catch((err: unknown) => {
          this.failure ??= err instanceof Error ? err : new Error(String(err));
          this.emit();
        }),
      ),
    ).then(() => undefined);
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loops;
  }

  /**
   * Until `signal` aborts: resolves with the first route object whose weight is not `expected(router)`, or
   * undefined. Right after the run's own write the watch may not show it yet: a route still showing another weight
   * `settleMs` after the start is read once, and only a read that disagrees too is a change (a read that agrees
   * means the watch is late: the route counts as changed only once the watch has shown the run's weight and then another).
   */
  async untilChanged(
    expected: (r: TrafficRouter) => number | undefined,
    signal: AbortSignal,
    settleMs: number,
  ): Promise<RouteChange | undefined> {
    if (!this.targets.length) return undefined;
    this.start();
    const started = performance.now();
    const settled = new Set<WatchedRoute>();
    const confirmed = new Set<WatchedRoute>();
    while (!signal.aborted) {
      if (this.failure) throw this.failure;
      let waitMs: number | undefined;
      for (const t of this.targets) {
        const want = expected(t.router);
        if (want === undefined || !t.seen.listed) continue;
        const live = weightOf(t.route, t.seen.object);
        if (live !== undefined && Math.abs(live - want) <= 0.5) {
          settled.add(t.route);
          continue;
        }
        if (settled.has(t.route)) return describeChange(t.router, t.route, t.seen.object, want, live);
        if (confirmed.has(t.route)) continue;
        const left = settleMs - (performance.now() - started);
        if (left > 0) {
          waitMs = Math.min(waitMs ?? left, left);
          continue;
        }
        const fresh = (await t.route.list()).items[0];
        const now = weightOf(t.route, fresh);
        if (now === undefined || Math.abs(now - want) > 0.5) return describeChange(t.router, t.route, fresh, want, now);
        confirmed.add(t.route);
      }
      await this.nextChange(signal, waitMs);
    }
    return undefined;
  }

  /** Resolves at the next change seen, after `timeoutMs` (when given), or once `signal` aborts. */
  private nextChange(signal: AbortSignal, timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.listeners.delete(done);
        signal.removeEventListener("abort", done);
        clearTimeout(timer);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs + 1);
      this.listeners.add(done);
      signal.addEventListener("abort", done, { once: true });
      if (signal.aborted) done();
    });
  }

  private emit(): void {
    for (const fn of [...this.listeners]) fn();
  }
}

function weightOf(route: WatchedRoute, object: unknown): number | undefined {
  try {
    return route.weightIn(object);
  } catch {
    return undefined;
  }
}

function describeChange(
  router: TrafficRouter,
  route: WatchedRoute,
  object: unknown,
  expected: number,
  live: number | undefined,
): RouteChange {
  const what = `${route.ref.kind} ${route.ref.namespace}/${route.ref.name}`;
  const state =
    object === undefined
      ? "was deleted"
      : live === undefined
        ? "now has a canary weight release-gate cannot read"
        : `now gives the canary ${round(live)} %`;
  const by = object === undefined ? "" : `, changed by ${describeChanger(object as { metadata?: k8s.V1ObjectMeta }, route.weightFields)}`;
  return {
    router: router.name,
    expected,
    live,
    summary: `${what} ${state}, not the ${round(expected)} % this run set and verified${by}`,
  };
}
