/**
 * A release's routing: its routers (one per route object, of the kind release.yaml names), found by service name,
 * moved together and read back. Built from release.yaml without touching the cluster.
 */
import pRetry, { AbortError } from "p-retry";
import { FailedError, UsageError } from "../errors.ts";
import { describeApiError } from "../kube/api-errors.ts";
import type { Kube } from "../kube/client.ts";
import { gatewayApi } from "./gateway-api.ts";
import { ingressNginx } from "./ingress-nginx.ts";
import { replicas } from "./replicas.ts";
import type { CanaryHeader, RouterInputs, RouterKind, RouterType, TrafficRouter } from "./router.ts";
import { RouteWatch, type RouteChange } from "./route-watch.ts";

const ROUTER_TYPES: Record<RouterKind, RouterType> = { "ingress-nginx": ingressNginx, "gateway-api": gatewayApi, replicas };

/** The kind of router release.yaml names: what it can do, and how its routers are built. */
export function routerType(kind: RouterKind): RouterType {
  return ROUTER_TYPES[kind];
}

/** A release's routes: as release.yaml describes them (a ReleaseConfig is one), or as an in-flight state recorded them. */
export interface RoutesDescription {
  namespace: string;
  router: { kind: RouterKind; canaryHeader: CanaryHeader };
  services: ReadonlyArray<{
    name: string;
    stable: { deployment: string; service: string };
    canary: { deployment: string; service: string };
    route: { ingress?: string | undefined; httpRoute?: string | undefined; ruleIndex?: number | undefined };
  }>;
}

/** What the routers of `config` are built from. */
export function routerInputs(config: RoutesDescription): RouterInputs {
  return {
    namespace: config.namespace,
    canaryHeader: config.router.canaryHeader,
    services: config.services.map((s) => ({
      name: s.name,
      stableDeployment: s.stable.deployment,
      canaryDeployment: s.canary.deployment,
      stableService: s.stable.service,
      canaryService: s.canary.service,
      ...(s.route.ingress ? { ingress: s.route.ingress } : {}),
      // No ruleIndex in release.yaml: undefined, i.e. the router's default (every rule sending to stable).
      ...(s.route.httpRoute
        ? { httpRoute: s.route.httpRoute, ...(s.route.ruleIndex !== undefined ? { ruleIndex: s.route.ruleIndex } : {}) }
        : {}),
    })),
  };
}

/** The routing of a release described by release.yaml (or recorded by its in-flight state). Touches nothing. */
export function routingFor(kube: Kube, config: RoutesDescription): Routing {
  return new Routing(routerType(config.router.kind).build(kube, routerInputs(config)), kube);
}

export interface VerifyOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between reads (default 250 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

export class Routing {
  readonly routers: readonly TrafficRouter[];
  private readonly byService = new Map<string, TrafficRouter>();
  /** Each router's weight as last verified or read, to report at the end without reading it again. */
  private readonly known = new Map<TrafficRouter, number>();
  private readonly kube: Kube | undefined;
  /** The route objects' watch, started at the first observation and kept until close(). */
  private watch: RouteWatch | undefined;

  /** `kube`: where the route objects are watched from (untilChanged); none, nothing is watched. */
  constructor(routers: TrafficRouter[], kube?: Kube) {
    this.routers = routers;
    this.kube = kube;
    for (const r of routers) for (const s of r.services) this.byService.set(s, r);
  }

  /**
   * During an observation: resolves with the first route object that no longer gives the weight this Routing set
   * and verified (someone else changed it), or undefined once `signal` aborts. `settleMs`: how long the watch may
   * take to show this run's own last write.
   */
  async untilChanged(signal: AbortSignal, settleMs: number): Promise<RouteChange | undefined> {
    if (!this.kube) return undefined;
    this.watch ??= new RouteWatch(this.kube, this.routers);
    return this.watch.untilChanged((r) => this.known.get(r), signal, settleMs);
  }

  /** Stop watching the route objects (the end of the run). Idempotent. */
  async close(): Promise<void> {
    const watch = this.watch;
    this.watch = undefined;
    await watch?.stop();
  }

  /** What keeps users from reaching stable, per router (read from the live objects). */
  async stableRouteProblems(): Promise<string[]> {
    return (await Promise.all(this.routers.map((r) => r.stableRouteProblems()))).flat();
  }

  /** The router that moves `service`'s traffic. */
  for(service: string): TrafficRouter {
    const r = this.byService.get(service);
    if (!r)
      throw new UsageError(`no traffic router routes service "${service}" (release.yaml names ${[...this.byService.keys()].join(", ")})`);
    return r;
  }

  /** The header that sends a request to every canary of the release, or undefined when a router cannot. */
  get canaryHeader(): CanaryHeader | undefined {
    const headers = this.routers.map((r) => r.canaryHeader);
    return headers.every((h) => h !== undefined) ? headers[0] : undefined;
  }

  /**
   * Every router to `weight`, then each read back until it shows the weight it should (expectedWeight, with the
   * stable replicas of the services it routes), or FailedError saying what the cluster has.
   */
  async setWeightVerified(weight: number, stableReplicas: (service: string) => number, opts: VerifyOptions): Promise<void> {
    await Promise.all(this.routers.map((r) => r.setWeight(weight)));
    await Promise.all(
      this.routers.map(async (r) =>
        this.known.set(r, await verifyWeight(r, r.expectedWeight(weight, stableReplicas(r.services[0]!)), weight, opts)),
      ),
    );
  }

  /**
   * Every router's live weight (an unreadable one as its error), for status and records. `reuseVerified`: a weight
   * this Routing verified or read already is not read again.
   */
  async weights(opts: { reuseVerified?: boolean } = {}): Promise<Array<{ router: string; weight: number | null; error?: string }>> {
    return Promise.all(
      this.routers.map(async (r) => {
        const known = opts.reuseVerified ? this.known.get(r) : undefined;
        if (known !== undefined) return { router: r.name, weight: known };
        try {
          const weight = await r.getWeight();
          this.known.set(r, weight);
          return { router: r.name, weight };
        } catch (err) {
          return { router: r.name, weight: null, error: describeApiError(err) };
        }
      }),
    );
  }
}

class WeightMismatch extends Error {
  readonly live: number;
  constructor(live: number) {
    super(`live weight ${live}`);
    this.live = live;
  }
}

const round = (n: number): string => String(Math.round(n * 10) / 10);

/**
 * Read the router's live weight until it equals `target` (within 0.5 points), or throw FailedError saying what
 * the cluster has. `weight`: the weight that was set, when the router reads back another (replicas). Returns the
 * live weight.
 */
export async function verifyWeight(router: TrafficRouter, target: number, weight: number, opts: VerifyOptions): Promise<number> {
  const intervalMs = opts.intervalMs ?? 250;
  let last: number | undefined;
  let lastError: unknown;
  try {
    return await pRetry(
      async () => {
        let live: number;
        try {
          live = await router.getWeight();
        } catch (err) {
          lastError = err;
          throw err instanceof Error ? err : new Error(String(err));
        }
        last = live;
        if (Math.abs(live - target) > 0.5) throw new WeightMismatch(live);
        return live;
      },
      {
        retries: Number.MAX_SAFE_INTEGER,
        factor: 1,
        minTimeout: intervalMs,
        maxTimeout: intervalMs,
        maxRetryTime: opts.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
        shouldRetry: ({ error }) => !(error instanceof UsageError),
      },
    );
  } catch (err) {
    if (err instanceof AbortError || opts.signal?.aborted) throw err;
    const got =
      last === undefined ? `could not be read (${(lastError as Error | undefined)?.message ?? String(err)})` : `is ${round(last)}`;
    throw new FailedError(
      `${router.name}: canary weight ${got}, expected ${round(target)}${target !== weight ? ` (for ${weight} %)` : ""} after ${opts.timeoutMs} ms`,
    );
  }
}
