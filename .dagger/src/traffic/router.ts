/**
 * The one interface every traffic router implements (one file per router in this folder), modelled on Flagger's
 * pkg/router/router.go and Argo Rollouts' trafficrouting reconcilers: the pipeline asks a router to get ready,
 * move the weight, read it back, and clean up, and asks it what it can do (route a header to the canary) and what
 * a weight means for it (canary sizing, the weight it will read back). It never asks which kind of router it holds.
 */
import { UsageError } from "../errors.ts";
import type { Kube } from "../kube/client.ts";
import type { FieldPath } from "../kube/managed-fields.ts";

/** A request header that sends one request to the canary regardless of weight (for direct canary smoke tests). */
export interface CanaryHeader {
  name: string;
  value: string;
}

/** An object a router changes, for the in-flight state and messages. */
export interface ObjectRef {
  kind: "Ingress" | "HTTPRoute" | "Deployment";
  namespace: string;
  name: string;
}

/**
 * A live object whose changes move a router's traffic, as the observation watches it: how to list it alone (the
 * watch starts from that) and what canary weight it gives.
 */
export interface WatchedRoute {
  readonly ref: ObjectRef;
  /** Its collection's URL path, e.g. /apis/networking.k8s.io/v1/namespaces/production/ingresses. */
  readonly path: string;
  /** The list of just this object (fieldSelector metadata.name=…): what its watch starts from. */
  list(): Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>;
  /** The canary weight (percent) this object gives, as the router reads it back; 0 when it is gone. Throws when unreadable. */
  weightIn(object: unknown): number;
  /** Where its managedFields hold the weight: whoever owns these changed it. */
  readonly weightFields: FieldPath[];
}

export interface TrafficRouter {
  /** Which router on which object, for messages: "ingress-nginx Ingress production/production-ingress-canary". */
  readonly name: string;
  /** The release's services whose traffic it moves (their names in release.yaml): routers are found by service. */
  readonly services: readonly string[];
  /** The objects it changes: what a repair must put back. */
  readonly objects: readonly ObjectRef[];
  /** The header that routes a request to the canary whatever the weight; undefined when the router cannot do that. */
  readonly canaryHeader: CanaryHeader | undefined;
  /** Check that every object the router needs exists and is well-formed. Changes nothing; throws UsageError. */
  preflight(): Promise<void>;
  /** Create what the router needs at weight 0, idempotently (e.g. the canary Ingress, the header rule). */
  prepare(): Promise<void>;
  /** Send `weight` percent (0..100) of user traffic to the canary. */
  setWeight(weight: number): Promise<void>;
  /** The canary weight as the cluster has it now, read back from the live objects. */
  getWeight(): Promise<number>;
  /** Canary replicas for weight W next to S stable replicas: the capacity it needs before it gets W (I1). */
  canaryReplicas(weight: number, stableReplicas: number): number;
  /**
   * The weight getWeight() reads once setWeight(W) took effect on a canary sized by canaryReplicas: W itself, or
   * what the router can really give (what Argo Rollouts' VerifyWeight knows).
   */
  expectedWeight(weight: number, stableReplicas: number): number;
  /** All traffic to stable and header routing removed: the resting state between releases. */
  reset(): Promise<void>;
  /**
   * The live objects that carry its weight, watched during observation: the route objects, or (replicas) the canary
   * Deployment, whose size is the weight.
   */
  readonly watched: readonly WatchedRoute[];
  /**
   * What keeps users from reaching stable through it, read from the live objects (the main route and the stable
   * Services it sends to): one sentence each, none when all is in place. Changes nothing.
   */
  stableRouteProblems(): Promise<string[]>;
}

/** One service of the release, as the routers need it (from release.yaml, validated by config/schema.ts). */
export interface ServiceRoute {
  /** The service's name in release.yaml (e.g. "qualisys-api"): routers are looked up by it. */
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
}

/** What routers are built from: plain data, already validated (config/schema.ts owns every rule). */
export interface RouterInputs {
  namespace: string;
  canaryHeader: CanaryHeader;
  services: ServiceRoute[];
}

export type RouterKind = "gateway-api" | "ingress-nginx" | "replicas";

/**
 * A kind of router, as release.yaml names it: how its routers are built from the release's services (one per route
 * object), and what it can do, for `plan` (which builds no router: it never talks to the cluster).
 */
export interface RouterType {
  readonly kind: RouterKind;
  /** Its routers can send a request to the canary by header (so the canary is smoke-tested before users see it). */
  readonly headerRouting: boolean;
  /** Canary replicas for weight W next to S stable replicas (its routers' canaryReplicas). */
  canaryReplicas(weight: number, stableReplicas: number): number;
  /** How a phase's capacity is set, for plan: "size the canary … for 10% of stable's replicas". */
  describeSizing(weight: number, services: string): string;
  /** How a phase's weight is set and verified, for plan; undefined when sizing alone sets it. */
  describeWeight(weight: number): string | undefined;
  /** The route object of a service's route this kind moves, in words ("Ingress production-ingress"), for drift reports. */
  describeRoute(route: { ingress?: string | undefined; httpRoute?: string | undefined; ruleIndex?: number | undefined }): string;
  build(kube: Kube, inputs: RouterInputs): TrafficRouter[];
}

/** Refuse a weight that is not an integer percentage, before anything is written. */
export function assertWeight(weight: number, where: string): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new UsageError(`canary weight must be an integer from 0 to 100, got ${weight} (${where}); nothing was changed`);
  }
}

/**
 * Canary replicas for a weight behind a real traffic router: its share of stable's replicas, at least 1; all of
 * them at 100 % (then the canary alone carries the whole load).
 */
export function shareOfStable(weight: number, stableReplicas: number): number {
  if (weight <= 0) return 0;
  if (weight >= 100) return Math.max(1, stableReplicas);
  return Math.max(1, Math.ceil((stableReplicas * weight) / 100));
}

/**
 * What the routers in front of a real traffic split (ingress-nginx, gateway-api) share: a header sends one request
 * to the canary, the canary is sized as its share of stable, and the weight reads back as it was set.
 */
export class SplittingRouter {
  protected readonly header: CanaryHeader;
  constructor(header: CanaryHeader) {
    this.header = header;
  }

  get canaryHeader(): CanaryHeader {
    return { ...this.header };
  }

  canaryReplicas(weight: number, stableReplicas: number): number {
    return shareOfStable(weight, stableReplicas);
  }

  expectedWeight(weight: number): number {
    return weight;
  }
}

/** What the kinds of SplittingRouter have in common, as RouterType says it for plan. */
export const splittingTraits = {
  headerRouting: true,
  canaryReplicas: shareOfStable,
  describeSizing: (weight: number, services: string) => `size the canary of ${services} for ${weight}% of stable's replicas`,
} as const;

/** Refuse (UsageError) when a Service a router sends traffic to does not exist: one list for all of them. */
export async function requireServices(
  kube: Kube,
  namespace: string,
  services: Array<{ stableService: string; canaryService: string }>,
  router: string,
): Promise<void> {
  const have = new Set((await kube.core.listNamespacedService({ namespace })).items.map((s) => s.metadata?.name));
  for (const name of services.flatMap((s) => [s.stableService, s.canaryService])) {
    if (!have.has(name))
      throw new UsageError(
        `Service ${namespace}/${name} does not exist (named in release.yaml): the ${router} router sends traffic to it; nothing was changed`,
      );
  }
}

/** The Services among `names` that do not exist, as problems for stableRouteProblems(). */
export async function missingServices(kube: Kube, namespace: string, names: string[]): Promise<string[]> {
  const have = new Set((await kube.core.listNamespacedService({ namespace })).items.map((s) => s.metadata?.name));
  return names.filter((n) => !have.has(n)).map((n) => `Service ${namespace}/${n} does not exist`);
}

/** Routers are one per route object: the services sharing one are grouped. */
export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

export { MANAGED_BY, MANAGED_BY_LABEL } from "../kube/labels.ts";
