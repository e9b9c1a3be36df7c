/**
 * The ingress-nginx and gateway-api routers against the simulator: the API server stores what they write and
 * the traffic edge routes real HTTP requests by it, as ingress-nginx and a Gateway API implementation would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { verifyWeight, type TrafficRouter } from "#src/traffic/index.ts";
import { observeSplit } from "#src/traffic/observed-split.ts";
import { FailedError, UsageError } from "#src/errors.ts";
import {
  buildRouters,
  CANARY_VERSION,
  HOST,
  HTTPROUTES,
  INGRESSES,
  NS,
  SERVICES,
  STABLE_VERSION,
  serviceRoutes,
  startTrafficSim,
  type TrafficSim,
} from "../support/traffic-fixture.ts";

async function versionOf(t: TrafficSim, host: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await request(t.sim.edgeUrl + "/", { headers: { host, ...headers } });
  await r.body.dump();
  return String(r.headers["x-app-version"] ?? `<${r.statusCode}>`);
}

const split = (t: TrafficSim, host: string, expectedWeight: number) =>
  observeSplit({
    url: t.sim.edgeUrl + "/",
    headers: { host },
    versionHeader: "X-App-Version",
    stableVersion: STABLE_VERSION,
    canaryVersion: CANARY_VERSION,
    expectedWeight,
    samples: 300,
    concurrency: 8,
  });

for (const kind of ["ingress-nginx", "gateway-api"] as const) {
  describe(`${kind} router on the simulator`, () => {
    let t: TrafficSim;
    let routers: TrafficRouter[];

    beforeAll(async () => {
      t = await startTrafficSim(kind);
      routers = buildRouters(t.kube, kind, serviceRoutes());
      // Canary pods up before any traffic shifts (design I1); the routers themselves never scale anything.
      await Promise.all(["qualisys-api-canary", "qualisys-web-canary"].map((d) => t.scale(d, 2)));
    });
    afterAll(() => t?.stop());

    it(`builds ${kind === "ingress-nginx" ? "one router for the shared Ingress" : "one router per HTTPRoute"}`, () => {
      expect(routers).toHaveLength(kind === "ingress-nginx" ? 1 : 2);
    });

    it("preflight passes on a complete setup and writes nothing", async () => {
      const before = { writes: t.writes(), snapshot: t.snapshot() };
      for (const r of routers) await r.preflight();
      expect(t.writes()).toBe(before.writes);
      expect(t.snapshot()).toBe(before.snapshot);
    });

    it("preflight refuses a missing route object, a missing canary Service and an unreferenced stable Service, changing nothing", async () => {
      const broken = [
        serviceRoutes().map((s) => ({ ...s, ingress: "no-such-ingress", httpRoute: "no-such-route" })),
        serviceRoutes().map((s) => ({ ...s, canaryService: `${s.name}-missing` })),
        serviceRoutes().map((s) => ({ ...s, stableService: `${s.name}-canary`, canaryService: `${s.name}-stable` })),
      ];
      const expected = [
        /no-such-(ingress|route).* not found/,
        /Service production\/qualisys-api-missing does not exist/,
        /qualisys-api-canary/,
      ];
      for (const [i, input] of broken.entries()) {
        const before = { writes: t.writes(), snapshot: t.snapshot() };
        const err = await buildRouters(t.kube, kind, input)[0]!
          .preflight()
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UsageError);
        expect((err as Error).message).toMatch(expected[i]!);
        expect((err as Error).message).toContain("nothing was changed");
        expect(t.writes()).toBe(before.writes);
        expect(t.snapshot()).toBe(before.snapshot);
      }
    });

    if (kind === "ingress-nginx") {
      it("preflight refuses an Ingress whose class belongs to another controller", async () => {
        await t.kube.networking.createIngressClass({ body: { metadata: { name: "alb" }, spec: { controller: "ingress.k8s.aws/alb" } } });
        await t.kube.networking.createIngressClass({ body: { metadata: { name: "nginx" }, spec: { controller: "k8s.io/ingress-nginx" } } });
        await t.kube.networking.createNamespacedIngress({
          namespace: NS,
          body: {
            metadata: { name: "alb-ingress", namespace: NS },
            spec: {
              ingressClassName: "alb",
              rules: [
                {
                  host: "alb.qualisys.io",
                  http: {
                    paths: [
                      { path: "/", pathType: "Prefix", backend: { service: { name: "qualisys-api-stable", port: { number: 3000 } } } },
                    ],
                  },
                },
              ],
            },
          },
        });
        const before = { writes: t.writes(), snapshot: t.snapshot() };
        const alb = buildRouters(
          t.kube,
          kind,
          serviceRoutes(["qualisys-api"]).map((s) => ({ ...s, ingress: "alb-ingress" })),
        )[0]!;
        await expect(alb.preflight()).rejects.toThrow(/controller is ingress.k8s.aws\/alb, not ingress-nginx/);
        expect(t.writes()).toBe(before.writes);
        expect(t.snapshot()).toBe(before.snapshot);
        for (const r of routers) await r.preflight(); // class nginx → k8s.io/ingress-nginx: accepted
        await t.kube.networking.deleteNamespacedIngress({ name: "alb-ingress", namespace: NS });
      });
    }

    it("prepare creates the canary routing at weight 0, and a second prepare changes nothing", async () => {
      for (const r of routers) await r.prepare();
      for (const r of routers) expect(await r.getWeight()).toBe(0);
      if (kind === "ingress-nginx") {
        const canary = t.sim.store.get(INGRESSES, NS, "production-ingress-canary")!;
        expect(canary.metadata.annotations).toMatchObject({
          "nginx.ingress.kubernetes.io/canary": "true",
          "nginx.ingress.kubernetes.io/canary-weight": "0",
        });
        expect(canary.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("release-gate");
        const backends = (
          canary.spec as { rules: Array<{ host: string; http: { paths: Array<{ backend: { service: { name: string } } }> } }> }
        ).rules.map((r) => [r.host, r.http.paths[0]!.backend.service.name]);
        expect(backends).toEqual([
          ["api.qualisys.io", "qualisys-api-canary"],
          ["app.qualisys.io", "qualisys-web-canary"],
        ]);
      } else {
        const route = t.sim.store.get(HTTPROUTES, NS, "qualisys-api")!;
        const rules = (route.spec as { rules: Array<{ backendRefs: Array<{ name: string; weight?: number }> }> }).rules;
        expect(rules).toHaveLength(2);
        expect(rules[0]!.backendRefs).toEqual([{ name: "qualisys-api-canary", port: 3000 }]);
        expect(rules[1]!.backendRefs.map((b) => [b.name, b.weight])).toEqual([
          ["qualisys-api-stable", undefined],
          ["qualisys-api-canary", 0],
        ]);
      }
      // Users still all reach stable.
      expect((await split(t, HOST["qualisys-api"]!, 0)).canary).toBe(0);

      const before = { writes: t.writes(), snapshot: t.snapshot() };
      for (const r of routers) await r.prepare();
      expect(t.writes()).toBe(before.writes);
      expect(t.snapshot()).toBe(before.snapshot);
    });

    it("routes the canary header to the canary at weight 0, on every host", async () => {
      const header = routers[0]!.canaryHeader!;
      expect(header).toEqual({ name: "X-Canary", value: "always" });
      for (const host of Object.values(HOST)) {
        expect(await versionOf(t, host, { [header.name]: header.value })).toBe(CANARY_VERSION);
        expect(await versionOf(t, host)).toBe(STABLE_VERSION);
      }
    });

    it("setWeight round-trips through getWeight and verifyWeight", async () => {
      for (const w of [10, 50, 100, 0, 37]) {
        for (const r of routers) await r.setWeight(w);
        for (const r of routers) {
          expect(await r.getWeight()).toBe(w);
          expect(await verifyWeight(r, r.expectedWeight(w, 3), w, { timeoutMs: 2_000 })).toBe(w);
        }
      }
    });

    it("the edge's measured split follows the weight", async () => {
      for (const w of [0, 10, 50, 100]) {
        for (const r of routers) await r.setWeight(w);
        for (const host of Object.values(HOST)) {
          const s = await split(t, host, w);
          expect(s.verdict, `${host} at ${w} %: ${s.summary}`).toBe("match");
        }
      }
    });

    it("verifyWeight reports the live weight when it does not match", async () => {
      for (const r of routers) await r.setWeight(10);
      const err = await verifyWeight(routers[0]!, 30, 30, { timeoutMs: 300, intervalMs: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailedError);
      expect((err as Error).message).toMatch(/canary weight is 10, expected 30/);
    });

    it("refuses a bad weight without writing anything", async () => {
      const before = t.writes();
      await expect(routers[0]!.setWeight(150)).rejects.toBeInstanceOf(UsageError);
      await expect(routers[0]!.setWeight(12.5)).rejects.toBeInstanceOf(UsageError);
      expect(t.writes()).toBe(before);
    });

    it("reset returns everything to stable and switches header routing off", async () => {
      for (const r of routers) await r.setWeight(50);
      for (const r of routers) await r.reset();
      for (const r of routers) expect(await r.getWeight()).toBe(0);
      for (const host of Object.values(HOST)) {
        expect((await split(t, host, 0)).canary).toBe(0);
        expect(await versionOf(t, host, { "X-Canary": "always" })).toBe(STABLE_VERSION);
      }
      if (kind === "gateway-api") {
        expect((t.sim.store.get(HTTPROUTES, NS, "qualisys-api")!.spec as { rules: unknown[] }).rules).toHaveLength(1);
      } else {
        const a = t.sim.store.get(INGRESSES, NS, "production-ingress-canary")!.metadata.annotations!;
        expect(a["nginx.ingress.kubernetes.io/canary-by-header"]).toBeUndefined();
        expect(a["nginx.ingress.kubernetes.io/canary-weight"]).toBe("0");
      }
      // A reset router can be prepared again for the next release.
      for (const r of routers) await r.prepare();
      expect(await versionOf(t, HOST["qualisys-web"]!, { "X-Canary": "always" })).toBe(CANARY_VERSION);
    });

    it("stable Services and Deployments are never written by the routers", () => {
      const svc = t.sim.store.get(SERVICES, NS, "qualisys-api-stable")!;
      const dep = t.sim.store.get("apps/v1/deployments", NS, "qualisys-api-stable")!;
      expect(svc.metadata.generation ?? 1).toBe(1);
      expect(dep.metadata.generation).toBe(1);
      expect((dep.spec as { replicas: number }).replicas).toBe(3);
    });
  });
}
