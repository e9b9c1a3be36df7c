import { afterEach, describe, expect, it } from "vitest";
import { DEPLOYMENTS, GATEWAYS, HTTPROUTES, INGRESSES, SERVICES } from "../../controllers/types.ts";
import { deployment } from "../controllers/harness.ts";
import type { KObject } from "../../store.ts";
import { fourSigma, ingress, service, startEdgeHarness, type EdgeHarness } from "./harness.ts";

const HOST = "app.qualisys.io";
let h: EdgeHarness;
afterEach(async () => h?.close());

const gateway: KObject = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "public", namespace: "default" },
  spec: { gatewayClassName: "sim", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
};

function route(stableWeight: number, canaryWeight: number, headerRule = true): KObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "web", namespace: "default" },
    spec: {
      parentRefs: [{ name: "public" }],
      hostnames: [HOST],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: [
            { name: "web", port: 80, weight: stableWeight },
            { name: "web-canary", port: 80, weight: canaryWeight },
          ],
        },
        ...(headerRule
          ? [
              {
                matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [{ name: "X-Canary", value: "always" }] }],
                backendRefs: [{ name: "web-canary", port: 80 }],
              },
            ]
          : []),
      ],
    },
  };
}

async function setup(stableWeight: number, canaryWeight: number, scenario = {}, canaryAvailable = true): Promise<void> {
  h = await startEdgeHarness({ edge: { defaultHost: HOST }, ...scenario });
  await h.app("web", "web:1.0.0", 2);
  if (canaryAvailable) await h.app("web-canary", "web:2.0.0", 1);
  else {
    h.store.create(DEPLOYMENTS, deployment("web-canary", "web:2.0.0", { replicas: 1 }));
    h.store.create(SERVICES, service("web-canary"));
  }
  h.store.create(GATEWAYS, gateway);
  h.store.create(HTTPROUTES, route(stableWeight, canaryWeight));
}

describe("edge as a Gateway API implementation", () => {
  it("splits in proportion to backendRef weights (relative to their sum) within 4σ", async () => {
    await setup(3, 1); // 1 / (3 + 1) = 25 %
    const n = 4000;
    const counts = await h.sample(n);
    const [lo, hi] = fourSigma(n, 0.25); // 1000 ± 110
    expect(counts.get("2.0.0")).toBeGreaterThanOrEqual(lo);
    expect(counts.get("2.0.0")).toBeLessThanOrEqual(hi);
  });

  it("sends a request matching the header rule to the canary, ahead of the weighted catch-all", async () => {
    await setup(100, 0);
    expect((await h.sample(50, { "X-Canary": "always" })).get("2.0.0")).toBe(50);
    expect((await h.sample(50)).get("1.0.0")).toBe(50);
  });

  it("answers 500 when every weight is 0 and 503 when the chosen Service has no Ready pod", async () => {
    await setup(0, 0, { images: [{ tag: "2.*", pod: { kind: "neverReady" } }] }, false);
    expect((await h.get("/api/health")).status).toBe(500);
    h.store.mutate(
      HTTPROUTES,
      "default",
      "web",
      (o) =>
        void ((
          o as unknown as { spec: { rules: Array<{ backendRefs: Array<{ weight: number }> }> } }
        ).spec.rules[0]!.backendRefs[1]!.weight = 1),
    );
    expect((await h.get("/api/health")).status).toBe(503);
  });

  it("ignores routes whose parent Gateway does not exist", async () => {
    await setup(1, 0);
    h.store.delete(GATEWAYS, "default", "public");
    expect((await h.get("/api/health")).status).toBe(404);
  });

  it("uses the controller the scenario names when an Ingress and an HTTPRoute both match", async () => {
    await setup(0, 1, { edge: { defaultHost: HOST, controller: "ingress-nginx" } });
    h.store.create(INGRESSES, ingress("web", HOST, "web"));
    expect((await h.sample(20)).get("1.0.0")).toBe(20); // the Ingress: all stable
    h.setScenario({ edge: { defaultHost: HOST, controller: "gateway-api" } });
    expect((await h.sample(20)).get("2.0.0")).toBe(20); // the HTTPRoute: all canary
  });
});
