/**
 * Invariant checks over everything the simulator's store saw during a scenario (every Deployment, Pod,
 * Ingress and HTTPRoute event, in order), plus the end state. Each check returns the violations it found,
 * as sentences, so a failing test says what happened and when.
 */
import type { Recorded } from "./pipeline-harness.ts";
import { DEPLOYMENTS, HTTPROUTES, INGRESSES, PODS } from "./pipeline-harness.ts";

const SERVICES = ["qualisys-api", "qualisys-web"];
const CANARY_INGRESS = "production-ingress-canary";
const WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight";

interface World {
  deployments: Map<string, any>;
  pods: Map<string, any>;
  ingresses: Map<string, any>;
  routes: Map<string, any>;
}

function apply(world: World, r: Recorded): void {
  const o = r.event.object as any;
  const map =
    r.event.typeKey === DEPLOYMENTS
      ? world.deployments
      : r.event.typeKey === PODS
        ? world.pods
        : r.event.typeKey === INGRESSES
          ? world.ingresses
          : r.event.typeKey === HTTPROUTES
            ? world.routes
            : undefined;
  if (!map) return;
  if (r.event.type === "DELETED") map.delete(o.metadata.name);
  else map.set(o.metadata.name, o);
}

/** The canary's share for a service as the routing objects say, in percent. Replicas router: Ready-pod share. */
export function weightOf(world: World, service: string, router: string): number {
  if (router === "ingress-nginx") {
    const ing = world.ingresses.get(CANARY_INGRESS);
    return ing ? Number(ing.metadata.annotations?.[WEIGHT_ANNOTATION] ?? 0) : 0;
  }
  if (router === "gateway-api") {
    const route = world.routes.get(service);
    if (!route) return 0;
    let canary = 0;
    let total = 0;
    for (const rule of route.spec.rules ?? []) {
      if (rule.matches?.some((m: any) => m.headers?.length)) continue; // The header rule is not user traffic.
      for (const b of rule.backendRefs ?? []) {
        total += b.weight ?? 1;
        if (b.name === `${service}-canary`) canary += b.weight ?? 1;
      }
    }
    return total ? (100 * canary) / total : 0;
  }
  const c = readyPods(world, service, "canary").length;
  const s = readyPods(world, service, "stable").length;
  return c + s ? (100 * c) / (c + s) : 0;
}

export function readyPods(world: World, service: string, track: string): any[] {
  return [...world.pods.values()].filter(
    (p) =>
      p.metadata.labels?.app === service &&
      p.metadata.labels?.track === track &&
      !p.metadata.deletionTimestamp &&
      p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
  );
}

function replay(events: Recorded[], visit: (world: World, r: Recorded, before: World) => void): void {
  const world: World = { deployments: new Map(), pods: new Map(), ingresses: new Map(), routes: new Map() };
  for (const r of events) {
    const before: World = {
      deployments: new Map(world.deployments),
      pods: new Map(world.pods),
      ingresses: new Map(world.ingresses),
      routes: new Map(world.routes),
    };
    apply(world, r);
    visit(world, r, before);
  }
}

/**
 * I1: traffic only moves to Available pods. Every time a service's canary weight rises, the canary already
 * has the Ready pods its weight needs (its share of stable's replicas, at least one), and every time a canary is
 * scaled down its weight is already one the smaller size is meant for (0, or e.g. 10 % when going 2 → 1 pods).
 */
export function checkI1(events: Recorded[], router: string, stableReplicas = 4, services = SERVICES): string[] {
  const violations: string[] = [];
  const need = (weight: number) => (weight >= 100 ? stableReplicas : Math.max(1, Math.ceil((stableReplicas * weight) / 100)));
  replay(events, (world, r, before) => {
    for (const svc of services) {
      const w0 = weightOf(before, svc, router);
      const w1 = weightOf(world, svc, router);
      if (router !== "replicas" && w1 > w0) {
        const ready = readyPods(world, svc, "canary").length;
        if (ready < need(w1))
          violations.push(`${svc}: weight ${w0} → ${w1} with only ${ready} Ready canary pods (need ${need(w1)}) at rv ${r.event.rv}`);
      }
      const d0 = before.deployments.get(`${svc}-canary`);
      const d1 = world.deployments.get(`${svc}-canary`);
      // Scaling down is allowed once the weight left is one the smaller canary is sized for (50 → 10 %, then
      // 2 → 1 pods); scaling down below the current weight's size means traffic was not moved away first.
      if (router !== "replicas" && d0 && d1 && d1.spec.replicas < d0.spec.replicas && w1 > 0 && d1.spec.replicas < need(w1)) {
        violations.push(
          `${svc}: canary scaled ${d0.spec.replicas} → ${d1.spec.replicas} while it still had weight ${w1} (sized for ${need(w1)} pods) at rv ${r.event.rv}`,
        );
      }
    }
  });
  return violations;
}

/** The images stable's pod template had, in order, over the scenario (I2: exactly one when promotion never started). */
export function stableTemplateImages(events: Recorded[], service: string): string[] {
  const seen: string[] = [];
  for (const r of events) {
    const o = r.event.object as any;
    if (r.event.typeKey !== DEPLOYMENTS || o.metadata.name !== `${service}-stable`) continue;
    const image = o.spec.template.spec.containers.find((c: any) => c.name === service)?.image;
    if (image && seen.at(-1) !== image) seen.push(image);
  }
  return seen;
}

/**
 * I3: traffic returns to stable (canary weight falls to 0) only when every Ready stable pod runs stable's
 * current template image and stable has all its replicas Ready.
 */
export function checkI3(events: Recorded[], router: string, services = SERVICES): string[] {
  const violations: string[] = [];
  replay(events, (world, r, before) => {
    for (const svc of services) {
      if (router === "replicas") continue;
      if (!(weightOf(before, svc, router) > 0 && weightOf(world, svc, router) === 0)) continue;
      const stable = world.deployments.get(`${svc}-stable`);
      const image = stable.spec.template.spec.containers.find((c: any) => c.name === svc).image;
      const ready = readyPods(world, svc, "stable");
      const wrong = ready.filter((p) => p.spec.containers.find((c: any) => c.name === svc).image !== image);
      if (ready.length < stable.spec.replicas || wrong.length) {
        violations.push(
          `${svc}: traffic returned to stable with ${ready.length}/${stable.spec.replicas} Ready pods, ` +
            `${wrong.length} on another image than ${image}, at rv ${r.event.rv}`,
        );
      }
    }
  });
  return violations;
}

/** The highest canary weight any route reached during the scenario. */
export function maxWeight(events: Recorded[], router: string): number {
  let max = 0;
  replay(events, (world) => {
    for (const svc of SERVICES) max = Math.max(max, weightOf(world, svc, router));
  });
  return max;
}
