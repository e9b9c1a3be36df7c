/**
 * The Gateway API router: an existing HTTPRoute whose rule(s) send traffic to the stable Service get a canary
 * backendRef next to it; the weights are proportional (Gateway API divides by the rule's sum), so release-gate
 * always writes stable 100−W and canary W. A separate rule with the same path matches plus an exact header
 * match sends the canary header to the canary Service only: the spec's precedence (same path, then most header
 * matches) makes it win over the weighted rule without any ordering tricks.
 *
 * Every write is a replace carrying the resourceVersion of the route as this router last read or wrote it (rules
 * are a list, so a merge patch would replace them anyway): nothing is read first, and a conflict (someone else
 * wrote in between) is retried on a fresh read.
 */
import { isDeepStrictEqual } from "node:util";
import type { Kube } from "../kube/client.ts";
import { FailedError, UsageError } from "../errors.ts";
import {
  assertWeight,
  groupBy,
  missingServices,
  requireServices,
  SplittingRouter,
  splittingTraits,
  type CanaryHeader,
  type ObjectRef,
  type RouterInputs,
  type RouterType,
  type TrafficRouter,
  type WatchedRoute,
} from "./router.ts";
import { isConflict, isNotFound } from "../kube/api-errors.ts";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const GATEWAY_VERSION = "v1";
export const HTTPROUTES = "httproutes";

/** The slice of the Gateway API HTTPRoute types release-gate reads and writes (unknown fields are kept). */
export interface HTTPHeaderMatch {
  type?: "Exact" | "RegularExpression";
  name: string;
  value: string;
}
export interface HTTPRouteMatch {
  path?: { type?: string; value?: string };
  headers?: HTTPHeaderMatch[];
  queryParams?: unknown[];
  method?: string;
  [k: string]: unknown;
}
export interface HTTPBackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [k: string]: unknown;
}
export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  backendRefs?: HTTPBackendRef[];
  [k: string]: unknown;
}
export interface HTTPRoute {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec: { rules?: HTTPRouteRule[]; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ServiceBackends {
  /** The service's name in release.yaml. */
  name?: string;
  stableService: string;
  canaryService: string;
  /** Only this rule (index into spec.rules as written by its owner) is split; default: every rule sending to stableService. */
  ruleIndex?: number;
}

export interface GatewayApiRouterOptions {
  namespace: string;
  httpRoute: string;
  services: ServiceBackends[];
  canaryHeader: CanaryHeader;
}

/** True when a backendRef points at Service `name` in the route's own namespace. */
export function refersTo(ref: HTTPBackendRef, name: string, routeNamespace: string | undefined): boolean {
  return (
    (ref.group ?? "") === "" &&
    (ref.kind ?? "Service") === "Service" &&
    ref.name === name &&
    (ref.namespace ?? routeNamespace) === routeNamespace
  );
}

const headerMatchOf = (h: CanaryHeader): HTTPHeaderMatch => ({ type: "Exact", name: h.name, value: h.value });

/** A rule release-gate added: every match carries the canary header, and it sends only to the canary Service. */
export function isHeaderRule(rule: HTTPRouteRule, header: CanaryHeader, canaryService: string, ns: string | undefined): boolean {
  const refs = rule.backendRefs ?? [];
  const matches = rule.matches ?? [];
  return (
    refs.length === 1 &&
    refersTo(refs[0]!, canaryService, ns) &&
    matches.length > 0 &&
    matches.every((m) =>
      (m.headers ?? []).some(
        (h) => (h.type ?? "Exact") === "Exact" && h.name.toLowerCase() === header.name.toLowerCase() && h.value === header.value,
      ),
    )
  );
}

/** The header rule for one weighted rule: its matches (an absent list means PathPrefix "/") plus the header. */
export function headerRuleFor(weighted: HTTPRouteRule, header: CanaryHeader, canaryRef: HTTPBackendRef): HTTPRouteRule {
  const base: HTTPRouteMatch[] = weighted.matches?.length ? weighted.matches : [{ path: { type: "PathPrefix", value: "/" } }];
  const matches = base.map((m) => ({
    ...structuredClone(m),
    headers: [...(m.headers ?? []).filter((h) => h.name.toLowerCase() !== header.name.toLowerCase()), headerMatchOf(header)],
  }));
  const { weight: _w, ...ref } = canaryRef;
  const rule: HTTPRouteRule = { matches, backendRefs: [{ ...structuredClone(ref) }] };
  // Filters (e.g. URL rewrites, header modifiers) apply to the canary as they do to stable.
  if (weighted.filters !== undefined) rule.filters = structuredClone(weighted.filters);
  if (weighted.timeouts !== undefined) rule.timeouts = structuredClone(weighted.timeouts);
  return rule;
}

/** Indexes of the rules that split `svc`'s traffic: the configured one, or every non-header rule sending to stable. */
export function weightedRuleIndexes(route: HTTPRoute, svc: ServiceBackends, header: CanaryHeader): number[] {
  const ns = route.metadata.namespace;
  const rules = route.spec.rules ?? [];
  const candidates = rules
    .map((r, i) => ({ r, i }))
    .filter(
      ({ r }) => !isHeaderRule(r, header, svc.canaryService, ns) && (r.backendRefs ?? []).some((b) => refersTo(b, svc.stableService, ns)),
    );
  if (svc.ruleIndex === undefined) return candidates.map((c) => c.i);
  // ruleIndex counts the owner's rules, i.e. without the header rules release-gate inserted.
  const ownRules = rules.map((r, i) => ({ r, i })).filter(({ r }) => !isHeaderRule(r, header, svc.canaryService, ns));
  const picked = ownRules[svc.ruleIndex];
  return picked && candidates.some((c) => c.i === picked.i) ? [picked.i] : [];
}

/**
 * The route with canary backendRefs (weight 0) added where missing and one header rule per weighted rule,
 * inserted just before it. Returns a new object; the input is not changed. Idempotent.
 */
export function withCanaryRules(route: HTTPRoute, services: ServiceBackends[], header: CanaryHeader): HTTPRoute {
  const out = structuredClone(route);
  const ns = out.metadata.namespace;
  for (const svc of services) {
    const rules = out.spec.rules ?? [];
    const weighted = weightedRuleIndexes(out, svc, header);
    const haveHeaderRule = new Set(
      rules.filter((r) => isHeaderRule(r, header, svc.canaryService, ns)).map((r) => JSON.stringify(r.matches)),
    );
    const next: HTTPRouteRule[] = [];
    rules.forEach((rule, i) => {
      if (weighted.includes(i)) {
        const refs = rule.backendRefs ?? [];
        const stableRef = refs.find((b) => refersTo(b, svc.stableService, ns))!;
        let canaryRef = refs.find((b) => refersTo(b, svc.canaryService, ns));
        if (!canaryRef) {
          const { weight: _w, namespace: _n, ...copy } = stableRef;
          canaryRef = { ...structuredClone(copy), name: svc.canaryService, weight: 0 };
          rule.backendRefs = [...refs, canaryRef];
        }
        const hr = headerRuleFor(rule, header, canaryRef);
        if (!haveHeaderRule.has(JSON.stringify(hr.matches))) next.push(hr);
      }
      next.push(rule);
    });
    out.spec.rules = next;
  }
  return out;
}

/**
 * The route with canary weight W and stable 100−W on every weighted rule. Throws if a canary ref is missing,
 * unless `skipUnprepared` (used by reset: a rule without a canary ref already sends everything to stable).
 */
export function withWeight(
  route: HTTPRoute,
  services: ServiceBackends[],
  header: CanaryHeader,
  weight: number,
  skipUnprepared = false,
): HTTPRoute {
  const out = structuredClone(route);
  const ns = out.metadata.namespace;
  for (const svc of services) {
    for (const i of weightedRuleIndexes(out, svc, header)) {
      const refs = out.spec.rules![i]!.backendRefs ?? [];
      const canaryRef = refs.find((b) => refersTo(b, svc.canaryService, ns));
      if (!canaryRef && skipUnprepared) continue;
      if (!canaryRef) {
        throw new FailedError(
          `HTTPRoute ${ns}/${out.metadata.name} rule ${i} has no backendRef to the canary Service ${svc.canaryService}: the router was not ` +
            `prepared; nothing was changed`,
        );
      }
      for (const ref of refs) if (refersTo(ref, svc.stableService, ns)) ref.weight = 100 - weight;
      canaryRef.weight = weight;
    }
  }
  return out;
}

/** The route without release-gate's header rules. */
export function withoutHeaderRules(route: HTTPRoute, services: ServiceBackends[], header: CanaryHeader): HTTPRoute {
  const out = structuredClone(route);
  const ns = out.metadata.namespace;
  out.spec.rules = (out.spec.rules ?? []).filter((r) => !services.some((s) => isHeaderRule(r, header, s.canaryService, ns)));
  return out;
}

/** The canary share (percent) of each weighted rule, as Gateway API computes it: canary weight / sum of weights. */
export function canaryShares(
  route: HTTPRoute,
  services: ServiceBackends[],
  header: CanaryHeader,
): Array<{ rule: number; service: string; share: number }> {
  const ns = route.metadata.namespace;
  const out: Array<{ rule: number; service: string; share: number }> = [];
  for (const svc of services) {
    for (const i of weightedRuleIndexes(route, svc, header)) {
      const refs = route.spec.rules![i]!.backendRefs ?? [];
      const w = (b: HTTPBackendRef) => b.weight ?? 1;
      const total = refs.reduce((sum, b) => sum + w(b), 0);
      const canary = refs.filter((b) => refersTo(b, svc.canaryService, ns)).reduce((sum, b) => sum + w(b), 0);
      out.push({ rule: i, service: svc.stableService, share: total > 0 ? (canary * 100) / total : 0 });
    }
  }
  return out;
}

export class GatewayApiRouter extends SplittingRouter implements TrafficRouter {
  readonly namespace: string;
  readonly httpRoute: string;
  readonly name: string;
  readonly services: readonly string[];
  readonly objects: readonly ObjectRef[];
  readonly watched: readonly WatchedRoute[];
  private readonly kube: Kube;
  private readonly backends: ServiceBackends[];
  /** The route as last read or written: the base of the next write, whose resourceVersion guards it. */
  private last: HTTPRoute | undefined;

  constructor(kube: Kube, opts: GatewayApiRouterOptions) {
    super(opts.canaryHeader);
    this.kube = kube;
    this.namespace = opts.namespace;
    this.httpRoute = opts.httpRoute;
    this.backends = opts.services;
    this.name = `gateway-api HTTPRoute ${this.namespace}/${this.httpRoute}`;
    this.services = opts.services.map((s) => s.name ?? s.stableService);
    this.objects = [{ kind: "HTTPRoute", namespace: this.namespace, name: this.httpRoute }];
    this.watched = [
      {
        ref: this.objects[0]!,
        path: `/apis/${GATEWAY_GROUP}/${GATEWAY_VERSION}/namespaces/${this.namespace}/${HTTPROUTES}`,
        list: () =>
          this.kube.custom.listNamespacedCustomObject({
            group: GATEWAY_GROUP,
            version: GATEWAY_VERSION,
            namespace: this.namespace,
            plural: HTTPROUTES,
            fieldSelector: `metadata.name=${this.httpRoute}`,
          }) as Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>,
        weightIn: (o) => (o ? this.shareOf(o as HTTPRoute) : 0),
        // Rules are one atomic list: whoever wrote them last wrote the weights.
        weightFields: [["f:spec", "f:rules"]],
      },
    ];
  }

  private get where(): string {
    return `HTTPRoute ${this.namespace}/${this.httpRoute}`;
  }

  private async read(): Promise<HTTPRoute | undefined> {
    try {
      this.last = (await this.kube.custom.getNamespacedCustomObject({
        group: GATEWAY_GROUP,
        version: GATEWAY_VERSION,
        namespace: this.namespace,
        plural: HTTPROUTES,
        name: this.httpRoute,
      })) as HTTPRoute;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.last = undefined;
    }
    return this.last;
  }

  /**
   * Transform the route and replace it, from the version last read or written (read first when there is none);
   * on 409 Conflict start over from a fresh read. `missing`: what to do when the route does not exist.
   */
  private async update(what: string, change: (route: HTTPRoute) => HTTPRoute, missing: "fail" | "ignore" = "fail"): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const fresh = !this.last;
      const base = this.last ?? (await this.read());
      if (!base) {
        if (missing === "ignore") return;
        throw new FailedError(`${this.where} not found, could not ${what}; without it no traffic reaches the canary`);
      }
      const next = change(base);
      if (isDeepStrictEqual(next.spec, base.spec)) {
        if (fresh) return;
        this.last = undefined; // "Nothing to change" is decided on the live route, never on a remembered one.
        continue;
      }
      try {
        this.last = (await this.kube.custom.replaceNamespacedCustomObject({
          group: GATEWAY_GROUP,
          version: GATEWAY_VERSION,
          namespace: this.namespace,
          plural: HTTPROUTES,
          name: this.httpRoute,
          body: next,
        })) as HTTPRoute;
        return;
      } catch (err) {
        this.last = undefined; // Whatever happened, the next write starts from a fresh read.
        if (isNotFound(err) && missing === "ignore") return;
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }

  async preflight(): Promise<void> {
    let route: HTTPRoute | undefined;
    try {
      route = await this.read();
    } catch (err) {
      throw new UsageError(`could not read ${this.where} (${(err as Error).message}): is the Gateway API installed? nothing was changed`);
    }
    if (!route) throw new UsageError(`${this.where} not found: the gateway-api router needs it; nothing was changed`);
    await requireServices(this.kube, this.namespace, this.backends, "gateway-api");
    for (const svc of this.backends) {
      if (!weightedRuleIndexes(route, svc, this.header).length) {
        const which = svc.ruleIndex === undefined ? "no rule" : `rule ${svc.ruleIndex} does not exist or`;
        throw new UsageError(`${this.where}: ${which} sends traffic to the stable Service ${svc.stableService}; nothing was changed`);
      }
    }
  }

  /** Canary backendRefs at weight 0 where missing, header rules where missing; existing weights are kept. */
  async prepare(): Promise<void> {
    await this.read(); // Preparing starts from the route as it is now, not as preflight saw it.
    await this.update("add the canary backends and header rules", (r) => withCanaryRules(r, this.backends, this.header));
  }

  async setWeight(weight: number): Promise<void> {
    assertWeight(weight, this.where);
    // Weight 0 leaves a rule without a canary backendRef alone, and a missing route too: nothing reaches the canary.
    await this.update(
      `set the canary weight to ${weight}`,
      (r) => withWeight(r, this.backends, this.header, weight, weight === 0),
      weight === 0 ? "ignore" : "fail",
    );
  }

  /** The largest canary share over the weighted rules (the most traffic the canary can be getting). */
  async getWeight(): Promise<number> {
    const route = await this.read();
    return route ? this.shareOf(route) : 0;
  }

  private shareOf(route: HTTPRoute): number {
    const shares = canaryShares(route, this.backends, this.header);
    return shares.length ? Math.max(...shares.map((s) => s.share)) : 0;
  }

  /** The route must exist and have a rule sending each service's traffic to its stable Service, which must exist. */
  async stableRouteProblems(): Promise<string[]> {
    const route = await this.read();
    const problems: string[] = [];
    if (!route) problems.push(`${this.where} does not exist: users reach no backend of it`);
    else {
      for (const svc of this.backends) {
        if (!weightedRuleIndexes(route, svc, this.header).length)
          problems.push(`${this.where} has no rule sending traffic to the stable Service ${svc.stableService}`);
      }
    }
    return [
      ...problems,
      ...(await missingServices(
        this.kube,
        this.namespace,
        this.backends.map((s) => s.stableService),
      )),
    ];
  }

  /** Header rules removed, canary weight 0 (the canary backendRefs stay, at weight 0). */
  async reset(): Promise<void> {
    await this.update(
      "reset the canary weight to 0",
      (r) => withWeight(withoutHeaderRules(r, this.backends, this.header), this.backends, this.header, 0, true),
      "ignore",
    );
  }
}

/** gateway-api: one router per HTTPRoute (QualiSys has one per service). */
export const gatewayApi: RouterType = {
  kind: "gateway-api",
  ...splittingTraits,
  describeWeight: (weight) => `set weight ${weight} on the HTTPRoute backendRefs and verify it took effect`,
  describeRoute: (route) =>
    `HTTPRoute ${route.httpRoute ?? "(none named)"}${route.ruleIndex !== undefined ? ` rule ${route.ruleIndex}` : ""}`,
  build: (kube: Kube, inputs: RouterInputs) =>
    [...groupBy(inputs.services, (s) => s.httpRoute!)].map(
      ([httpRoute, services]) =>
        new GatewayApiRouter(kube, {
          namespace: inputs.namespace,
          httpRoute,
          canaryHeader: inputs.canaryHeader,
          services: services.map(({ name, stableService, canaryService, ruleIndex }) => ({
            name,
            stableService,
            canaryService,
            ...(ruleIndex !== undefined ? { ruleIndex } : {}),
          })),
        }),
    ),
};
