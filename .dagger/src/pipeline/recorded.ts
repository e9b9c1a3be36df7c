/**
 * What an interrupted release recorded, as objects to act on: its routing is built from the routes its state
 * names (the router kind, the canary header, each service's route and Services), whatever release.yaml says now,
 * so `rollback` and `deploy --repair` put back what was changed; and how release.yaml differs from it, which is
 * reported, never silently skipped. `status` and `status --watch` read the same (their weights, the differences, and
 * whether the state can be trusted at all), read-only.
 */
import type { ReleaseConfig } from "../config/schema.ts";
import type { ClusterWatch } from "../health/cluster-watch.ts";
import type { Kube } from "../kube/client.ts";
import { FIELD_MANAGER } from "../kube/labels.ts";
import { routerType, type Routing, routingFor } from "../traffic/routing.ts";
import type { InFlightState, ServiceInFlight } from "./journal.ts";

/**
 * The routing of the objects the interrupted release changed: its router kind, its canary header and each service's
 * route and Services, as its state recorded them. Touches nothing.
 */
export function recordedRouting(kube: Kube, state: InFlightState, namespace: string): Routing {
  return routingFor(kube, { namespace, router: state.router, services: state.services });
}

/**
 * How release.yaml differs from what the interrupted release recorded, one sentence each (empty: no difference).
 * Deployments named differently for the same service are not drift but a state not to trust (untrustedBecause).
 * `release`: how the sentences name that release (status says "the release in flight": its run may be alive).
 */
export function driftFrom(state: InFlightState, config: ReleaseConfig, release = "the interrupted release"): string[] {
  const out: string[] = [];
  if (state.router.kind !== config.router.kind) {
    out.push(`release.yaml now uses router ${config.router.kind}; ${release} moved traffic with ${state.router.kind}`);
  }
  const h = state.router.canaryHeader;
  if (h.name !== config.router.canaryHeader.name || h.value !== config.router.canaryHeader.value) {
    out.push(`release.yaml's canary header is now ${config.router.canaryHeader.name}, ${release} routed ${h.name}: ${h.value}`);
  }
  const now = new Map(config.services.map((s) => [s.name, s]));
  const recordedRoute = routerType(state.router.kind).describeRoute;
  const configuredRoute = routerType(config.router.kind).describeRoute;
  for (const s of state.services) {
    const c = now.get(s.name);
    if (!c) {
      out.push(
        `release.yaml no longer names service ${s.name}, which ${release} changed (${recordedRoute(s.route)}, Deployments ` +
          `${s.stable.deployment} and ${s.canary.deployment})`,
      );
      continue;
    }
    const was = recordedRoute(s.route);
    const is = configuredRoute(c.route);
    if (was !== is) out.push(`service ${s.name}: release.yaml now routes through ${is}; ${release} changed ${was}`);
    if (c.stable.service !== s.stable.service || c.canary.service !== s.canary.service) {
      out.push(
        `service ${s.name}: release.yaml now names Services ${c.stable.service}/${c.canary.service}; ${release} routed to ` +
          `${s.stable.service}/${s.canary.service}`,
      );
    }
  }
  for (const c of config.services) {
    if (!state.services.some((s) => s.name === c.name)) {
      out.push(`release.yaml names service ${c.name}, which ${release} did not touch: it is left as it is`);
    }
  }
  return out;
}

/**
 * Why the Deployments of the services release.yaml no longer names cannot be acted on, or undefined. A state anyone
 * with `update` on its ConfigMap can write must not make a rollback scale or restore a Deployment release.yaml does
 * not name, unless that Deployment shows release-gate wrote it (its managedFields name release-gate as a manager of
 * its pod template or size), as the interrupted release did; and never one release.yaml gives another role.
 * `cluster`: where the Deployments are looked up (the run's watch, or any `deployment(name)`, e.g. status's list).
 */
export function droppedUntrustedBecause(
  state: InFlightState,
  config: ReleaseConfig,
  cluster: Pick<ClusterWatch, "deployment">,
): string | undefined {
  const named = new Set(config.services.flatMap((s) => [s.stable.deployment, s.canary.deployment]));
  const dropped = state.services.filter((s) => !config.services.some((c) => c.name === s.name));
  const problems: string[] = [];
  for (const s of dropped) {
    for (const name of deploymentsActedOn(s, state)) {
      if (named.has(name)) {
        problems.push(`${s.name} names Deployment ${name}, which release.yaml gives to another service`);
        continue;
      }
      const d = cluster.deployment(name);
      if (d && !writtenByReleaseGate(d)) problems.push(`${s.name} names Deployment ${name}, which release-gate never changed`);
    }
  }
  return problems.length ? `it does not match release.yaml: ${problems.join("; ")}` : undefined;
}

/** The Deployments a rollback may change for a service: the canary (scaled to 0), and stable once promotion started. */
function deploymentsActedOn(s: ServiceInFlight, state: InFlightState): string[] {
  return state.promotionStarted ? [s.canary.deployment, s.stable.deployment] : [s.canary.deployment];
}

function writtenByReleaseGate(d: { metadata?: { managedFields?: Array<{ manager?: string }> } }): boolean {
  return (d.metadata?.managedFields ?? []).some((e) => e.manager === FIELD_MANAGER);
}
