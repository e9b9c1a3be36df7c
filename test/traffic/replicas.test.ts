/**
 * The replicas router on the simulator: one Service over stable and canary pods, the split is the share of
 * Ready pods, and only the canary Deployment is ever scaled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWeight, type TrafficRouter } from "#src/traffic/index.ts";
import { observeSplit } from "#src/traffic/observed-split.ts";
import { waitAvailable } from "#src/health/index.ts";
import { UsageError } from "#src/errors.ts";
import {
  buildRouters,
  CANARY_VERSION,
  DEPLOYMENTS,
  NS,
  STABLE_VERSION,
  startTrafficSim,
  WAIT_LIMITS,
  type TrafficSim,
} from "../support/traffic-fixture.ts";

const HOSTNAME = "replicas.qualisys.io";
const api = {
  name: "qualisys-api",
  stableDeployment: "qualisys-api-stable",
  canaryDeployment: "qualisys-api-canary",
  stableService: "qualisys-api",
  canaryService: "qualisys-api-canary",
};

describe("replicas router on the simulator", () => {
  let t: TrafficSim;
  let router: TrafficRouter;
  const stableSpec = () => JSON.stringify(t.sim.store.get(DEPLOYMENTS, NS, "qualisys-api-stable")!.spec);
  let stableBefore = "";
  const settle = async (replicas: number) =>
    waitAvailable({ kube: t.kube, namespace: NS, deployment: "qualisys-api-canary", replicas, timeoutMs: 20_000, limits: WAIT_LIMITS });
  /** The fixture's stable runs 3 replicas. */
  const verify = (weight: number) => verifyWeight(router, router.expectedWeight(weight, 3), weight, { timeoutMs: 2_000 });

  beforeAll(async () => {
    t = await startTrafficSim("ingress-nginx", {
      objects: [
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: "all-pods", namespace: NS },
          spec: {
            ingressClassName: "nginx",
            rules: [
              {
                host: HOSTNAME,
                http: {
                  paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "qualisys-api", port: { number: 3000 } } } }],
                },
              },
            ],
          },
        },
      ],
    });
    [router] = buildRouters(t.kube, "replicas", [api]);
    stableBefore = stableSpec();
  });
  afterAll(() => t?.stop());

  it("preflight refuses a Service that does not select the canary's pods, and a missing Deployment, writing nothing", async () => {
    const before = t.writes();
    const stableOnly = buildRouters(t.kube, "replicas", [{ ...api, stableService: "qualisys-api-stable" }])[0]!;
    await expect(stableOnly.preflight()).rejects.toThrow(/does not select the pods of Deployment qualisys-api-canary.*nothing was changed/);
    const missing = buildRouters(t.kube, "replicas", [{ ...api, canaryDeployment: "nope" }])[0]!;
    await expect(missing.preflight()).rejects.toBeInstanceOf(UsageError);
    await router.preflight();
    expect(t.writes()).toBe(before);
  });

  it("has no header routing, and answers for itself what a weight means: its canary sizing and the share it gives", () => {
    expect(router.canaryHeader).toBeUndefined();
    expect(router.name).toBe("replicas Deployment production/qualisys-api-canary");
    expect(router.services).toEqual(["qualisys-api"]);
    expect([0, 10, 50, 100].map((w) => router.canaryReplicas(w, 3))).toEqual([0, 1, 3, 3]);
    expect(router.expectedWeight(10, 3)).toBe(25);
  });

  it("50 %: as many canary pods as stable ones, measured at the edge", async () => {
    await router.prepare();
    await router.setWeight(50);
    await settle(3);
    expect(await router.getWeight()).toBe(50);
    expect(await verify(50)).toBe(50);
    const s = await observeSplit({
      url: t.sim.edgeUrl + "/",
      headers: { host: HOSTNAME },
      versionHeader: "X-App-Version",
      stableVersion: STABLE_VERSION,
      canaryVersion: CANARY_VERSION,
      expectedWeight: 50,
      samples: 300,
    });
    expect(s.verdict, s.summary).toBe("match");
  });

  it("10 % is as close as whole pods get (1 of 4 = 25 %), and verifyWeight knows it", async () => {
    await router.setWeight(10);
    await settle(1);
    expect(router.expectedWeight(10, 3)).toBe(25);
    expect(await router.getWeight()).toBe(25);
    await verify(10);
  });

  it("100 % stays below 100: the canary is capped at stable's size", async () => {
    await router.setWeight(100);
    await settle(3);
    expect(router.expectedWeight(100, 3)).toBe(50);
    await verify(100);
  });

  it("reset scales the canary to 0 and all traffic returns to stable; stable was never changed", async () => {
    await router.reset();
    await settle(0);
    expect(await router.getWeight()).toBe(0);
    const s = await observeSplit({
      url: t.sim.edgeUrl + "/",
      headers: { host: HOSTNAME },
      versionHeader: "X-App-Version",
      stableVersion: STABLE_VERSION,
      canaryVersion: CANARY_VERSION,
      expectedWeight: 0,
      samples: 100,
    });
    expect(s.canary).toBe(0);
    expect(stableSpec()).toBe(stableBefore);
  });
});
