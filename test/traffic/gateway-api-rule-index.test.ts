/**
 * release.yaml without a ruleIndex, on the simulator: an HTTPRoute with two rules sending to stable gets the
 * canary split on both (the router's documented default), not only on rule 0; with ruleIndex, only that rule.
 */
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseReleaseConfig } from "#src/config/load.ts";
import { routingFor } from "#src/traffic/routing.ts";
import { GATEWAY_GROUP, GATEWAY_VERSION, HTTPROUTES, type HTTPRoute } from "#src/traffic/gateway-api.ts";
import { NS, startTrafficSim, type TrafficSim } from "../support/traffic-fixture.ts";

let t: TrafficSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const releaseYaml = (route: Record<string, unknown>) =>
  stringify({
    namespace: NS,
    router: { kind: "gateway-api" },
    services: [
      {
        name: "qualisys-api",
        container: "app",
        stable: { deployment: "qualisys-api-stable", service: "qualisys-api-stable" },
        canary: { deployment: "qualisys-api-canary", service: "qualisys-api-canary" },
        route,
        smoke: { url: "https://api.qualisys.io" },
      },
    ],
  });

async function readRoute(kube: TrafficSim["kube"]): Promise<HTTPRoute> {
  return (await kube.custom.getNamespacedCustomObject({
    group: GATEWAY_GROUP,
    version: GATEWAY_VERSION,
    namespace: NS,
    plural: HTTPROUTES,
    name: "qualisys-api",
  })) as HTTPRoute;
}

/** Canary weight of each rule that is not a header rule, in order. */
const canaryWeights = (route: HTTPRoute) =>
  (route.spec.rules ?? [])
    .filter((r) => !r.matches?.some((m) => m.headers?.length))
    .map((r) => r.backendRefs?.find((b) => b.name === "qualisys-api-canary")?.weight ?? null);

describe("gateway-api ruleIndex from release.yaml", () => {
  it.each([
    [{ httpRoute: "qualisys-api" }, [30, 30]],
    [{ httpRoute: "qualisys-api", ruleIndex: 1 }, [null, 30]],
  ])("route %j on a two-rule HTTPRoute: canary weights per rule %j", async (route, expected) => {
    t = await startTrafficSim("gateway-api");
    const live = await readRoute(t.kube);
    live.spec.rules = [
      { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "qualisys-api-stable", port: 3000 }] },
      { matches: [{ path: { type: "PathPrefix", value: "/v2" } }], backendRefs: [{ name: "qualisys-api-stable", port: 3000 }] },
    ];
    await t.kube.custom.replaceNamespacedCustomObject({
      group: GATEWAY_GROUP,
      version: GATEWAY_VERSION,
      namespace: NS,
      plural: HTTPROUTES,
      name: "qualisys-api",
      body: live,
    });
    const [router] = routingFor(t.kube, parseReleaseConfig(releaseYaml(route))).routers;
    await router!.prepare();
    await router!.setWeight(30);
    expect(canaryWeights(await readRoute(t.kube))).toEqual(expected);
    expect(await router!.getWeight()).toBe(30);
  });
});
