/**
 * Building the traffic routers for a release from plain inputs, and verifying a weight took effect.
 *
 * One router per route object: ingress-nginx → one per stable Ingress (all services behind it share one
 * canary Ingress), gateway-api → one per HTTPRoute, replicas → one per service. The pipeline moves all of them
 * together, phase by phase.
 */
import pRetry, { AbortError } from "p-retry";
import type { Kube } from "../kube/client.ts";
import { FailedError, UsageError } from "../errors.ts";
import type { CanaryHeader, TrafficRouter } from "./router.ts";
import { IngressNginxRouter } from "./ingress-nginx.ts";
import { GatewayApiRouter } from "./gateway-api.ts";
import { ReplicasRouter } from "./replicas.ts";

export type { CanaryHeader, TrafficRouter } from "./router.ts";
export { IngressNginxRouter, deriveCanaryIngress, canaryIngressName } from "./ingress-nginx.ts";
export { GatewayApiRouter } from "./gateway-api.ts";
export { ReplicasRouter, canaryReplicasFor } from "./replicas.ts";

export type RouterKind = TrafficRouter["kind"];
export const ROUTER_KINDS: readonly RouterKind[] = ["gateway-api", "ingress-nginx", "replicas"];

/** The default header for direct canary requests. */
export const DEFAULT_CANARY_HEADER: CanaryHeader = { name: "X-Canary", value: "always" };

/** One service of the release, as the routers need it. */
export interface ServiceRoute {
  /** The service's name in the release (e.g. "qualisys-api"), used in messages. */
  name: string;
  stableDeployment: string;
  canaryDeployment: string;
  /** ingress-nginx / gateway-api: the Service the route sends to today. replicas: the one Service over both. */
  stableService: string;
  /** ingress-nginx / gateway-api: the Service selecting only canary pods. Not used by replicas. */
  canaryService: string;
  /** ingress-nginx: the stable Ingress that routes to stableService. */
  ingress?: string;
  /** gateway-api: the HTTPRoute that routes to stableService. */
  httpRoute?: string;
  /** gateway-api: split only this rule (index among the route owner's rules); default every rule sending to stableService. */
  ruleIndex?: number;
  /** replicas: the canary's replica cap (default stable's replicas, i.e. at most a 50 % share). */
  maxCanaryReplicas?: number;
}

export interface RouterInputs {
  kind: RouterKind;
  namespace: string;
  /** Default X-Canary: always. Not used by replicas. */
  canaryHeader?: CanaryHeader;
  services: ServiceRoute[];
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Check the inputs; throws UsageError naming the bad field. Nothing is read from or written to the cluster. */
export function validateRouterInputs(inputs: RouterInputs): void {
  if (!ROUTER_KINDS.includes(inputs.kind))
    throw new UsageError(`unknown traffic router "${inputs.kind}" (expected one of ${ROUTER_KINDS.join(", ")})`);
  if (!inputs.namespace) throw new UsageError("traffic router: namespace is required");
  if (!inputs.services.length) throw new UsageError("traffic router: at least one service is required");
  const header = inputs.canaryHeader ?? DEFAULT_CANARY_HEADER;
  if (!HEADER_NAME.test(header.name)) throw new UsageError(`canary header name "${header.name}" is not a valid HTTP header name`);
  if (!header.value || /[\r\n]/.test(header.value))
    throw new UsageError(`canary header value for ${header.name} must be non-empty and on one line`);
  const seen = new Set<string>();
  for (const s of inputs.services) {
    if (seen.has(s.name)) throw new UsageError(`service "${s.name}" is listed twice`);
    seen.add(s.name);
    for (const f of ["stableDeployment", "canaryDeployment", "stableService"] as const) {
      if (!s[f]) throw new UsageError(`service "${s.name}": ${f} is required`);
    }
    if (s.stableDeployment === s.canaryDeployment)
      throw new UsageError(`service "${s.name}": stable and canary Deployment are the same (${s.stableDeployment})`);
    if (inputs.kind !== "replicas") {
      if (!s.canaryService) throw new UsageError(`service "${s.name}": canaryService is required for ${inputs.kind}`);
      if (s.canaryService === s.stableService)
        throw new UsageError(`service "${s.name}": stable and canary Service are the same (${s.stableService})`);
    }
    if (inputs.kind === "ingress-nginx" && !s.ingress)
      throw new UsageError(`service "${s.name}": ingress (the stable Ingress name) is required for ingress-nginx`);
    if (inputs.kind === "gateway-api" && !s.httpRoute) throw new UsageError(`service "${s.name}": httpRoute is required for gateway-api`);
    if (s.ruleIndex !== undefined && (!Number.isInteger(s.ruleIndex) || s.ruleIndex < 0))
      throw new UsageError(`service "${s.name}": ruleIndex must be a non-negative integer`);
    if (s.maxCanaryReplicas !== undefined && (!Number.isInteger(s.maxCanaryReplicas) || s.maxCanaryReplicas < 1)) {
      throw new UsageError(`service "${s.name}": maxCanaryReplicas must be a positive integer`);
    }
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

/** The routers for a release, one per route object. Validates the inputs first (UsageError); touches nothing. */
export function createRouters(kube: Kube, inputs: RouterInputs): TrafficRouter[] {
  validateRouterInputs(inputs);
  const { namespace } = inputs;
  const canaryHeader = inputs.canaryHeader ?? DEFAULT_CANARY_HEADER;
  switch (inputs.kind) {
    case "ingress-nginx":
      return [...groupBy(inputs.services, (s) => s.ingress!)].map(
        ([ingress, services]) =>
          new IngressNginxRouter(kube, {
            namespace,
            ingress,
            canaryHeader,
            services: services.map(({ stableService, canaryService }) => ({ stableService, canaryService })),
          }),
      );
    case "gateway-api":
      return [...groupBy(inputs.services, (s) => s.httpRoute!)].map(
        ([httpRoute, services]) =>
          new GatewayApiRouter(kube, {
            namespace,
            httpRoute,
            canaryHeader,
            services: services.map(({ stableService, canaryService, ruleIndex }) => ({
              stableService,
              canaryService,
              ...(ruleIndex !== undefined ? { ruleIndex } : {}),
            })),
          }),
      );
    case "replicas":
      return inputs.services.map(
        (s) =>
          new ReplicasRouter(kube, {
            namespace,
            service: s.stableService,
            stableDeployment: s.stableDeployment,
            canaryDeployment: s.canaryDeployment,
            ...(s.maxCanaryReplicas !== undefined ? { maxCanaryReplicas: s.maxCanaryReplicas } : {}),
          }),
      );
  }
}

/** A short name for a router in messages: "ingress-nginx production/production-ingress". */
export function describeRouter(router: TrafficRouter): string {
  if (router instanceof IngressNginxRouter) return `ingress-nginx Ingress ${router.namespace}/${router.canaryIngress}`;
  if (router instanceof GatewayApiRouter) return `gateway-api HTTPRoute ${router.namespace}/${router.httpRoute}`;
  if (router instanceof ReplicasRouter) return `replicas Deployment ${router.namespace}/${router.canaryDeployment}`;
  return router.kind;
}

/**
 * The weight the live objects will show after setWeight(weight): the weight itself, except for the replicas
 * router, where it is the Ready-pod share the canary's replica count gives (a 100 % phase stays below 100).
 */
export async function expectedWeight(router: TrafficRouter, weight: number): Promise<number> {
  return router instanceof ReplicasRouter ? router.expectedWeight(weight) : weight;
}

export interface VerifyWeightOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between reads (default 250 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

class WeightMismatch extends Error {
  readonly live: number;
  constructor(live: number) {
    super(`live weight ${live}`);
    this.live = live;
  }
}

/**
 * Read the router's live weight until it equals `expected` (after `expectedWeight`; equal within 0.5 points),
 * or throw FailedError saying what the cluster has. Returns the live weight.
 */
export async function verifyWeight(router: TrafficRouter, expected: number, opts: VerifyWeightOptions = {}): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 250;
  const target = await expectedWeight(router, expected);
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
        maxRetryTime: timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
        shouldRetry: ({ error }) => !(error instanceof UsageError),
      },
    );
  } catch (err) {
    if (err instanceof AbortError || opts.signal?.aborted) throw err;
    const got =
      last === undefined ? `could not be read (${(lastError as Error | undefined)?.message ?? String(err)})` : `is ${round(last)}`;
    throw new FailedError(
      `${describeRouter(router)}: canary weight ${got}, expected ${round(target)}${target !== expected ? ` (for ${expected} %)` : ""} after ${timeoutMs} ms`,
    );
  }
}

const round = (n: number): string => String(Math.round(n * 10) / 10);
export {
  observeSplit,
  judgeSplit,
  type ObserveSplitOptions,
  type SplitResult,
  type SplitCounts,
  type SplitVerdict,
} from "./observed-split.ts";
