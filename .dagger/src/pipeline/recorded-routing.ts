/**
 * The routing an in-flight release recorded, built from its state (the services with their routes, the router
 * kind), not from release.yaml as it is now: what `status` reads the live weights from, so a route renamed or a
 * service dropped in release.yaml after a run died is still reported where traffic really goes (issue 13, item 1).
 * Read-only use only: a state anyone can write must never say what to change. (Until the lifecycle builds its own
 * routers from the recorded objects; then status uses that.)
 */
import type { ReleaseConfig } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import type { RouterInputs, ServiceRoute } from "../traffic/router.ts";
import { Routing, routerInputs, routerType } from "../traffic/routing.ts";
import type { InFlightState, ServiceInFlight } from "./journal.ts";

function routeOf(s: ServiceInFlight): ServiceRoute {
  return {
    name: s.name,
    stableDeployment: s.stable.deployment,
    canaryDeployment: s.canary.deployment,
    stableService: s.stable.service,
    canaryService: s.canary.service,
    ...(s.route.ingress ? { ingress: s.route.ingress } : {}),
    ...(s.route.httpRoute
      ? { httpRoute: s.route.httpRoute, ...(s.route.ruleIndex !== undefined ? { ruleIndex: s.route.ruleIndex } : {}) }
      : {}),
  };
}

/** What the routers of the recorded release are built from. */
export function recordedInputs(state: InFlightState, namespace: string): RouterInputs {
  return { namespace, canaryHeader: state.router.canaryHeader, services: state.services.map(routeOf) };
}

/** The routing of the recorded release. Touches nothing. */
export function recordedRouting(kube: Kube, state: InFlightState, namespace: string): Routing {
  return new Routing(routerType(state.router.kind).build(kube, recordedInputs(state, namespace)));
}

/**
 * Every difference between what the in-flight release recorded and release.yaml now, in words (empty when none):
 * the router kind, services added or dropped, a service's Deployments, Services or route.
 */
export function differencesFromConfig(state: InFlightState, config: ReleaseConfig): string[] {
  const out: string[] = [];
  if (state.router.kind !== config.router.kind) out.push(`router: recorded ${state.router.kind}, release.yaml ${config.router.kind}`);
  const now = new Map(routerInputs(config).services.map((s) => [s.name, s]));
  const recorded = new Map(state.services.map((s) => [s.name, routeOf(s)]));
  for (const name of recorded.keys()) if (!now.has(name)) out.push(`${name} is recorded but no longer in release.yaml`);
  for (const name of now.keys()) if (!recorded.has(name)) out.push(`${name} is in release.yaml but not in the recorded release`);
  const fields: Array<[keyof ServiceRoute, string]> = [
    ["stableDeployment", "stable Deployment"],
    ["canaryDeployment", "canary Deployment"],
    ["stableService", "stable Service"],
    ["canaryService", "canary Service"],
    ["ingress", "Ingress"],
    ["httpRoute", "HTTPRoute"],
    ["ruleIndex", "route rule"],
  ];
  for (const [name, was] of recorded) {
    const is = now.get(name);
    if (!is) continue;
    for (const [k, label] of fields) {
      if (was[k] !== is[k]) out.push(`${name}: ${label} recorded ${String(was[k] ?? "none")}, release.yaml ${String(is[k] ?? "none")}`);
    }
  }
  return out;
}
