/**
 * Request routing as a Gateway API implementation does it for HTTPRoutes attached (parentRefs) to an existing
 * Gateway. Among every matching (route, rule, match) the spec's precedence picks one: most specific hostname,
 * then an Exact path, then the longest prefix, then a method match, then the most header matches, then the
 * most query-parameter matches, then the oldest route, then route "namespace/name" alphabetically, then rule
 * order. The chosen rule's backendRefs split traffic in proportion to their weights (default 1).
 *
 * A route is attached only where the Gateway lets it: through a listener (the parentRef's `sectionName`/`port`,
 * if given, pick it) whose `allowedRoutes` admits HTTPRoutes (`kinds`, by default those of an HTTP/HTTPS
 * listener) from the route's namespace (`namespaces.from`: Same by default, All, or a namespace Selector). A
 * backendRef to a Service in another namespace needs a ReferenceGrant there; without one it is invalid, and the
 * spec answers 500 for requests it would have carried.
 */
import { matchesSelector, type LabelSelector } from "../controllers/selectors.ts";
import { GATEWAYS, HTTPROUTES, REFERENCEGRANTS } from "../controllers/types.ts";
import type { KObject } from "../store.ts";
import type { ServiceRef } from "./backends.ts";
import { hostScore, prefixMatches } from "./hosts.ts";
import type { RouteSource } from "./route-view.ts";

interface HTTPRouteMatch {
  path?: { type?: "Exact" | "PathPrefix" | "RegularExpression"; value?: string };
  headers?: Array<{ type?: "Exact" | "RegularExpression"; name: string; value: string }>;
  queryParams?: Array<{ type?: "Exact" | "RegularExpression"; name: string; value: string }>;
  method?: string;
}

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}

interface ParentRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
}

interface Listener {
  name?: string;
  port?: number;
  protocol?: string;
  allowedRoutes?: {
    namespaces?: { from?: "All" | "Same" | "Selector"; selector?: LabelSelector };
    kinds?: Array<{ group?: string; kind: string }>;
  };
}

interface ReferenceGrant extends KObject {
  spec?: {
    from?: Array<{ group?: string; kind?: string; namespace?: string }>;
    to?: Array<{ group?: string; kind?: string; name?: string }>;
  };
}

const GATEWAY_GROUP = "gateway.networking.k8s.io";

interface HTTPRoute extends KObject {
  spec?: {
    parentRefs?: ParentRef[];
    hostnames?: string[];
    rules?: Array<{ matches?: HTTPRouteMatch[]; backendRefs?: BackendRef[] }>;
  };
}

export interface GatewayRequest {
  host: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

export type GatewayDecision =
  | { service: ServiceRef; route: string; backend: string }
  /** Spec-mandated 500: all weights zero, or an invalid backendRef drawn. */
  | { status: 500; route: string };

interface Candidate {
  route: HTTPRoute;
  ruleIndex: number;
  hostScore: number;
  exact: boolean;
  prefixLength: number;
  method: boolean;
  headers: number;
  query: number;
}

const header = (req: GatewayRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(",") : v;
};

function fullMatch(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    return false;
  }
}

function matchScore(m: HTTPRouteMatch, req: GatewayRequest): Omit<Candidate, "route" | "ruleIndex" | "hostScore"> | undefined {
  const type = m.path?.type ?? "PathPrefix";
  const value = m.path?.value ?? "/";
  let exact = false;
  let prefixLength = 0;
  if (type === "Exact") {
    if (req.path !== value) return undefined;
    exact = true;
  } else if (type === "PathPrefix") {
    if (!prefixMatches(value, req.path)) return undefined;
    prefixLength = value.length;
  } else if (!fullMatch(value, req.path)) return undefined;
  if (m.method && m.method.toUpperCase() !== req.method.toUpperCase()) return undefined;
  for (const h of m.headers ?? []) {
    const v = header(req, h.name);
    if (v === undefined) return undefined;
    if ((h.type ?? "Exact") === "Exact" ? v !== h.value : !fullMatch(h.value, v)) return undefined;
  }
  for (const q of m.queryParams ?? []) {
    const v = req.query.get(q.name);
    if (v === null) return undefined;
    if ((q.type ?? "Exact") === "Exact" ? v !== q.value : !fullMatch(q.value, v)) return undefined;
  }
  return { exact, prefixLength, method: !!m.method, headers: m.headers?.length ?? 0, query: m.queryParams?.length ?? 0 };
}

/** Whether a listener takes HTTPRoutes from the route's namespace (Gateway API `AllowedRoutes`). */
function listenerAllows(routes: RouteSource, gatewayNamespace: string, listener: Listener, routeNamespace: string): boolean {
  const kinds = listener.allowedRoutes?.kinds;
  const takesHttpRoutes = kinds?.length
    ? kinds.some((k) => k.kind === "HTTPRoute" && (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP)
    : ["HTTP", "HTTPS", undefined].includes(listener.protocol); // the listener protocol's default route kinds
  if (!takesHttpRoutes) return false;
  const from = listener.allowedRoutes?.namespaces?.from ?? "Same";
  if (from === "All") return true;
  if (from === "Selector") return matchesSelector(listener.allowedRoutes?.namespaces?.selector, routes.namespaceLabels(routeNamespace));
  return routeNamespace === gatewayNamespace;
}

function attached(routes: RouteSource, route: HTTPRoute): boolean {
  const ns = route.metadata.namespace ?? "default";
  return (route.spec?.parentRefs ?? []).some((p) => {
    if ((p.kind ?? "Gateway") !== "Gateway" || (p.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP) return false;
    const gwNamespace = p.namespace ?? ns;
    const gw = routes.get(GATEWAYS, gwNamespace, p.name) as (KObject & { spec?: { listeners?: Listener[] } }) | undefined;
    if (!gw) return false;
    return (gw.spec?.listeners ?? []).some(
      (l) =>
        (p.sectionName === undefined || l.name === p.sectionName) &&
        (p.port === undefined || l.port === p.port) &&
        listenerAllows(routes, gwNamespace, l, ns),
    );
  });
}

/** A backendRef into another namespace is permitted only by a ReferenceGrant in that namespace. */
function referencePermitted(routes: RouteSource, routeNamespace: string, ref: BackendRef): boolean {
  const target = ref.namespace ?? routeNamespace;
  if (target === routeNamespace) return true;
  if (!routes.has(REFERENCEGRANTS)) return false;
  return (routes.list(REFERENCEGRANTS) as ReferenceGrant[]).some(
    (g) =>
      (g.metadata.namespace ?? "default") === target &&
      (g.spec?.from ?? []).some((f) => f.group === GATEWAY_GROUP && f.kind === "HTTPRoute" && f.namespace === routeNamespace) &&
      (g.spec?.to ?? []).some(
        (t) => (t.group ?? "") === "" && t.kind === "Service" && (t.name === undefined || t.name === "" || t.name === ref.name),
      ),
  );
}

function compare(a: Candidate, b: Candidate): number {
  return (
    b.hostScore - a.hostScore ||
    Number(b.exact) - Number(a.exact) ||
    b.prefixLength - a.prefixLength ||
    Number(b.method) - Number(a.method) ||
    b.headers - a.headers ||
    b.query - a.query ||
    (a.route.metadata.creationTimestamp ?? "").localeCompare(b.route.metadata.creationTimestamp ?? "") ||
    `${a.route.metadata.namespace}/${a.route.metadata.name}`.localeCompare(`${b.route.metadata.namespace}/${b.route.metadata.name}`) ||
    a.ruleIndex - b.ruleIndex
  );
}

/** Where a Gateway API implementation would send the request, or undefined when no attached HTTPRoute matches (404). */
export function routeHttpRoute(routes: RouteSource, req: GatewayRequest, random: () => number = Math.random): GatewayDecision | undefined {
  if (!routes.has(HTTPROUTES)) return undefined;
  const candidates: Candidate[] = [];
  for (const route of routes.list(HTTPROUTES) as HTTPRoute[]) {
    if (!attached(routes, route)) continue;
    const hostnames = route.spec?.hostnames ?? [];
    const hs = hostnames.length === 0 ? 1 : Math.max(0, ...hostnames.map((h) => hostScore(h, req.host, "many")));
    if (hs === 0) continue;
    (route.spec?.rules ?? []).forEach((rule, ruleIndex) => {
      const matches = rule.matches?.length ? rule.matches : [{}];
      for (const m of matches) {
        const s = matchScore(m, req);
        if (s) candidates.push({ route, ruleIndex, hostScore: hs, ...s });
      }
    });
  }
  if (candidates.length === 0) return undefined;
  candidates.sort(compare);
  const best = candidates[0]!;
  const routeName = `${best.route.metadata.namespace}/${best.route.metadata.name}`;
  const refs = best.route.spec!.rules![best.ruleIndex]!.backendRefs ?? [];
  const weights = refs.map((r) => Math.max(0, r.weight ?? 1));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return { status: 500, route: routeName };
  let draw = random() * total;
  let chosen = refs[refs.length - 1]!;
  for (let i = 0; i < refs.length; i++) {
    if (draw < weights[i]!) {
      chosen = refs[i]!;
      break;
    }
    draw -= weights[i]!;
  }
  if ((chosen.kind ?? "Service") !== "Service" || (chosen.group ?? "") !== "") return { status: 500, route: routeName };
  if (!referencePermitted(routes, best.route.metadata.namespace ?? "default", chosen)) return { status: 500, route: routeName };
  const service = {
    namespace: chosen.namespace ?? best.route.metadata.namespace ?? "default",
    name: chosen.name,
    ...(chosen.port !== undefined ? { port: chosen.port } : {}),
  };
  return { service, route: routeName, backend: chosen.name };
}
