import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { parseReleaseConfig } from "#src/config/load.ts";
import { canaryReplicasFor, shareOf } from "#src/traffic/replicas.ts";
import { Routing, routerType, routingFor } from "#src/traffic/routing.ts";
import { shareOfStable, type RouterInputs } from "#src/traffic/router.ts";
import { UsageError } from "#src/errors.ts";
import type { Kube } from "#src/kube/client.ts";

describe("replicas router sizing", () => {
  it("sizes the canary so its pod share approaches the weight, stable untouched", () => {
    expect(canaryReplicasFor(0, 4)).toBe(0);
    expect(canaryReplicasFor(10, 4)).toBe(1); // round(0.44) → at least 1: 20 % of pods
    expect(canaryReplicasFor(10, 18)).toBe(2); // 2 / 20 = 10 %
    expect(canaryReplicasFor(50, 4)).toBe(4);
    expect(canaryReplicasFor(100, 4)).toBe(4); // capped at stable's replicas: 50 %, never 100 %
    expect(canaryReplicasFor(90, 4)).toBe(4); // round(36) capped
    expect(shareOf(1, 4)).toBe(20);
    expect(shareOf(0, 0)).toBe(0);
  });
});

describe("routers answer for themselves", () => {
  const kube = {} as Kube; // building routers must not touch the cluster
  const svc = (name: string, route: { ingress?: string; httpRoute?: string } = {}) => ({
    name,
    stableDeployment: `${name}-stable`,
    canaryDeployment: `${name}-canary`,
    stableService: `${name}-stable`,
    canaryService: `${name}-canary`,
    ...route,
  });
  const inputs = (services: RouterInputs["services"]): RouterInputs => ({
    namespace: "production",
    canaryHeader: { name: "X-Canary", value: "always" },
    services,
  });

  it("ingress-nginx: one router per Ingress (both QualiSys services share one canary Ingress), with header routing", () => {
    const routing = new Routing(
      routerType("ingress-nginx").build(
        kube,
        inputs([svc("qualisys-api", { ingress: "production-ingress" }), svc("qualisys-web", { ingress: "production-ingress" })]),
      ),
    );
    expect(routing.routers).toHaveLength(1);
    expect(routing.routers[0]!.name).toBe("ingress-nginx Ingress production/production-ingress-canary");
    expect(routing.routers[0]!.objects).toEqual([{ kind: "Ingress", namespace: "production", name: "production-ingress-canary" }]);
    expect(routing.canaryHeader).toEqual({ name: "X-Canary", value: "always" });
    expect(routing.for("qualisys-web")).toBe(routing.routers[0]);
    // Sized as a share of stable; the weight read back is the weight set.
    expect([10, 50, 100].map((w) => routing.routers[0]!.canaryReplicas(w, 4))).toEqual([1, 2, 4]);
    expect(routing.routers[0]!.expectedWeight(50, 4)).toBe(50);
  });

  it("replicas: one router per service, no header routing, a share of Ready pods", () => {
    const routing = new Routing(routerType("replicas").build(kube, inputs([svc("a"), svc("b")])));
    expect(routing.routers.map((r) => r.name)).toEqual([
      "replicas Deployment production/a-canary",
      "replicas Deployment production/b-canary",
    ]);
    expect(routing.canaryHeader).toBeUndefined();
    expect(routerType("replicas").headerRouting).toBe(false);
    expect(routing.for("b").expectedWeight(100, 4)).toBe(50);
  });

  it("finds a service's router by name, not by position: reordering release.yaml's services changes nothing", () => {
    const doc = parse(readFileSync("kubernetes/production/release.yaml", "utf8"));
    doc.router.kind = "gateway-api";
    const before = routingFor(kube, parseReleaseConfig(stringify(doc)));
    doc.services.reverse();
    const after = routingFor(kube, parseReleaseConfig(stringify(doc)));
    for (const name of ["qualisys-api", "qualisys-web"]) expect(after.for(name).name).toBe(before.for(name).name);
    expect(after.for("qualisys-api").name).toBe("gateway-api HTTPRoute production/qualisys-api");
    expect(() => after.for("billing")).toThrow(UsageError);
  });

  it("sizes a canary behind a real router at its share of stable, at least one pod, all of stable's at 100 %", () => {
    expect([0, 10, 50, 100].map((w) => shareOfStable(w, 9))).toEqual([0, 1, 5, 9]);
    expect(shareOfStable(10, 0)).toBe(1);
  });
});
