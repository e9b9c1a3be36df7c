/**
 * Request routing as ingress-nginx does it. Main (non-canary) Ingresses define the locations: the most
 * specific host (exact, then wildcard, then catch-all), then the longest path (Exact before Prefix). A canary
 * Ingress (`nginx.ingress.kubernetes.io/canary: "true"`) only takes part when a main Ingress has the same host
 * and path; then, as balancer.lua decides: by header (`canary-by-header` with `-value` or `-pattern`, else
 * "always"/"never"), then by cookie (`canary-by-cookie`: "always"/"never"), then by weight (canary when
 * random(total) <= weight, total = `canary-weight-total` only if above 100, else 100). Only one canary per
 * location is used, as in ingress-nginx.
 */
import { INGRESSES } from "../controllers/types.ts";
import type { KObject } from "../store.ts";
import type { ServiceRef } from "./backends.ts";
import { hostScore, prefixMatches } from "./hosts.ts";
import type { RouteSource } from "./route-view.ts";

const A = "nginx.ingress.kubernetes.io/";

interface IngressPath {
  path?: string;
  pathType?: "Exact" | "Prefix" | "ImplementationSpecific";
  backend?: { service?: { name: string; port?: { number?: number; name?: string } } };
}

interface Ingress extends KObject {
  spec?: { rules?: Array<{ host?: string; http?: { paths?: IngressPath[] } }> };
}

export interface EdgeRequest {
  host: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface IngressDecision {
  service: ServiceRef;
  canary: boolean;
  ingress: string;
  /** The main Ingress's matched location, which nginx's metrics name even when the canary answered. */
  location: { ingress: string; service: ServiceRef; path: string; host: string | undefined };
}

interface Location {
  ingress: Ingress;
  host: string | undefined;
  path: IngressPath;
  hostScore: number;
  pathScore: number;
}

/** The annotation parser reads booleans with Go's strconv.ParseBool. */
const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const isCanary = (i: Ingress) => TRUE.has(i.metadata.annotations?.[A + "canary"] ?? "");

function locations(ing: Ingress, req: EdgeRequest): Location[] {
  const out: Location[] = [];
  for (const rule of ing.spec?.rules ?? []) {
    const hs = hostScore(rule.host, req.host, "one");
    if (hs === 0) continue;
    for (const p of rule.http?.paths ?? []) {
      const path = p.path ?? "/";
      const exact = p.pathType === "Exact";
      if (exact ? req.path !== path : !prefixMatches(path, req.path)) continue;
      out.push({ ingress: ing, host: rule.host, path: p, hostScore: hs, pathScore: path.length * 2 + (exact ? 1 : 0) });
    }
  }
  return out;
}

const sameLocation = (a: Location, b: Location) =>
  (a.host ?? "") === (b.host ?? "") &&
  (a.path.path ?? "/") === (b.path.path ?? "/") &&
  (a.path.pathType ?? "Prefix") === (b.path.pathType ?? "Prefix");

function header(req: EdgeRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function cookie(req: EdgeRequest, name: string): string | undefined {
  for (const part of (header(req, "cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** balancer.lua's route_to_alternative_balancer for one canary. */
export function routeToCanary(canary: Ingress, req: EdgeRequest, random: () => number = Math.random): boolean {
  const ann = canary.metadata.annotations ?? {};
  const byHeader = ann[A + "canary-by-header"];
  if (byHeader) {
    const value = header(req, byHeader);
    if (value !== undefined) {
      const want = ann[A + "canary-by-header-value"];
      const pattern = ann[A + "canary-by-header-pattern"];
      if (want) {
        if (value === want) return true;
      } else if (pattern) {
        try {
          if (new RegExp(pattern).test(value)) return true;
        } catch {
          // an invalid pattern counts as no match
        }
      } else if (value === "always") {
        return true;
      } else if (value === "never") {
        return false;
      }
    }
  }
  const byCookie = ann[A + "canary-by-cookie"];
  if (byCookie) {
    const value = cookie(req, byCookie);
    if (value === "always") return true;
    if (value === "never") return false;
  }
  const weight = Number.parseInt(ann[A + "canary-weight"] ?? "0", 10) || 0;
  const totalAnn = Number.parseInt(ann[A + "canary-weight-total"] ?? "100", 10) || 100;
  const total = totalAnn > 100 ? totalAnn : 100;
  if (weight <= 0) return false;
  const draw = Math.floor(random() * total) + 1; // math.random(total): 1..total
  return draw <= weight;
}

/** Where ingress-nginx would send the request, or undefined when no main Ingress matches (nginx's 404). */
export function routeIngress(routes: RouteSource, req: EdgeRequest, random: () => number = Math.random): IngressDecision | undefined {
  if (!routes.has(INGRESSES)) return undefined;
  const all = (routes.list(INGRESSES) as Ingress[]).sort((a, b) =>
    (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
  );
  const mains = all.filter((i) => !isCanary(i)).flatMap((i) => locations(i, req));
  if (mains.length === 0) return undefined;
  mains.sort((a, b) => b.hostScore - a.hostScore || b.pathScore - a.pathScore);
  const best = mains[0]!;
  const ns = best.ingress.metadata.namespace ?? "default";
  const canaryLoc = all
    .filter((i) => isCanary(i) && (i.metadata.namespace ?? "default") === ns)
    .flatMap((i) => locations(i, req))
    .find((l) => sameLocation(l, best));
  const target = canaryLoc && routeToCanary(canaryLoc.ingress, req, random) ? canaryLoc : best;
  const service = serviceOf(target, ns);
  const main = serviceOf(best, ns);
  if (!service || !main) return undefined;
  return {
    service,
    canary: target !== best,
    ingress: target.ingress.metadata.name,
    location: { ingress: best.ingress.metadata.name, service: main, path: best.path.path ?? "/", host: best.host },
  };
}

function serviceOf(loc: Location, namespace: string): ServiceRef | undefined {
  const svc = loc.path.backend?.service;
  if (!svc) return undefined;
  const port = svc.port?.number ?? svc.port?.name;
  return { namespace, name: svc.name, ...(port !== undefined ? { port } : {}) };
}
