import { afterEach, describe, expect, it } from "vitest";
import { DEPLOYMENTS, INGRESSES, PODS, type Deployment, type Pod } from "../../controllers/types.ts";
import { fourSigma, ingress, startEdgeHarness, type EdgeHarness } from "./harness.ts";

const A = "nginx.ingress.kubernetes.io/";
const HOST = "app.qualisys.io";
let h: EdgeHarness;
afterEach(async () => h?.close());

async function stableAndCanary(canaryAnnotations: Record<string, string>): Promise<void> {
  h = await startEdgeHarness({ edge: { defaultHost: HOST } });
  await h.app("web", "web:1.0.0", 2);
  await h.app("web-canary", "web:2.0.0", 1);
  h.store.create(INGRESSES, ingress("web", HOST, "web"));
  h.store.create(INGRESSES, ingress("web-canary", HOST, "web-canary", { [A + "canary"]: "true", ...canaryAnnotations }));
}

describe("edge as ingress-nginx", () => {
  it("splits by canary-weight within 4σ of the configured share", async () => {
    await stableAndCanary({ [A + "canary-weight"]: "20" });
    const n = 4000;
    const counts = await h.sample(n);
    const [lo, hi] = fourSigma(n, 0.2); // 800 ± 101
    expect(counts.get("2.0.0")).toBeGreaterThanOrEqual(lo);
    expect(counts.get("2.0.0")).toBeLessThanOrEqual(hi);
    expect((counts.get("1.0.0") ?? 0) + (counts.get("2.0.0") ?? 0)).toBe(n);
  });

  it("uses canary-weight-total only above 100, as balancer.lua does", async () => {
    await stableAndCanary({ [A + "canary-weight"]: "25", [A + "canary-weight-total"]: "50" });
    const n = 2000;
    let counts = await h.sample(n);
    let [lo, hi] = fourSigma(n, 0.25); // total 50 is ignored: 25/100, not 25/50
    expect(counts.get("2.0.0")).toBeGreaterThanOrEqual(lo);
    expect(counts.get("2.0.0")).toBeLessThanOrEqual(hi);
    h.store.mutate(INGRESSES, "default", "web-canary", (o) => void (o.metadata.annotations![A + "canary-weight-total"] = "1000"));
    counts = await h.sample(n);
    [lo, hi] = fourSigma(n, 0.025);
    expect(counts.get("2.0.0")).toBeGreaterThanOrEqual(lo);
    expect(counts.get("2.0.0")).toBeLessThanOrEqual(hi);
  });

  it("routes by header before weight: always/never without a value, exact value when set", async () => {
    await stableAndCanary({ [A + "canary-weight"]: "100", [A + "canary-by-header"]: "X-Canary" });
    expect((await h.sample(50, { "X-Canary": "never" })).get("1.0.0")).toBe(50);
    expect((await h.sample(50, { "X-Canary": "always" })).get("2.0.0")).toBe(50);
    expect((await h.sample(50, { "X-Canary": "something" })).get("2.0.0")).toBe(50); // falls through to weight 100
    h.store.mutate(INGRESSES, "default", "web-canary", (o) => {
      o.metadata.annotations![A + "canary-weight"] = "0";
      o.metadata.annotations![A + "canary-by-header-value"] = "smoke";
    });
    expect((await h.sample(50, { "X-Canary": "smoke" })).get("2.0.0")).toBe(50);
    expect((await h.sample(50, { "X-Canary": "always" })).get("1.0.0")).toBe(50); // with a value, "always" means nothing
    expect((await h.sample(50)).get("1.0.0")).toBe(50);
  });

  it("routes by cookie after header and before weight", async () => {
    await stableAndCanary({ [A + "canary-weight"]: "0", [A + "canary-by-cookie"]: "canary" });
    expect((await h.sample(30, { Cookie: "a=b; canary=always" })).get("2.0.0")).toBe(30);
    expect((await h.sample(30, { Cookie: "canary=never" })).get("1.0.0")).toBe(30);
  });

  it("applies a weight change only after edge.propagationSeconds, as the controller's sync lags the API", async () => {
    h = await startEdgeHarness({ edge: { defaultHost: HOST, propagationSeconds: 1000 } }); // 2 s real at 2 ms/s
    await h.app("web", "web:1.0.0", 1);
    await h.app("web-canary", "web:2.0.0", 1);
    h.store.create(INGRESSES, ingress("web", HOST, "web"));
    h.store.create(INGRESSES, ingress("web-canary", HOST, "web-canary", { [A + "canary"]: "true", [A + "canary-weight"]: "100" }));
    expect((await h.get("/api/health")).status).toBe(404); // nothing programmed yet
    while ((await h.get("/api/health")).headers["x-app-version"] !== "2.0.0"); // until both are programmed
    h.store.mutate(INGRESSES, "default", "web-canary", (o) => void (o.metadata.annotations![A + "canary-weight"] = "0"));
    expect((await h.sample(20)).get("2.0.0")).toBe(20); // still the old weight
    let version = "2.0.0";
    while (version === "2.0.0") version = (await h.get("/api/health")).headers["x-app-version"]!;
    expect(version).toBe("1.0.0");
  });

  it("ignores a canary Ingress with no main Ingress for its host and path", async () => {
    h = await startEdgeHarness({ edge: { defaultHost: HOST } });
    await h.app("web-canary", "web:2.0.0", 1);
    h.store.create(INGRESSES, ingress("web-canary", HOST, "web-canary", { [A + "canary"]: "true", [A + "canary-weight"]: "100" }));
    expect((await h.get("/api/health")).status).toBe(404);
  });

  it("matches the Host header, and answers 503 when the Service has no Ready pod", async () => {
    h = await startEdgeHarness({ images: [{ tag: "broken", pod: { kind: "crashLoop" } }] });
    await h.app("web", "web:1.0.0", 1);
    h.store.create(INGRESSES, ingress("web", HOST, "web"));
    expect((await h.get("/api/health", { Host: HOST })).status).toBe(200);
    expect((await h.get("/api/health", { Host: "other.example.com" })).status).toBe(404);
    expect((await h.get("/api/health")).status).toBe(404); // 127.0.0.1 and no defaultHost
    h.store.mutate(DEPLOYMENTS, "default", "web", (o) => {
      const d = o as Deployment;
      d.spec.template.spec!.containers![0]!.image = "web:broken";
      d.spec.strategy = { type: "Recreate" };
    });
    await h.until(() => (h.store.list(PODS).items as Pod[]).every((p) => p.spec.containers[0]!.image === "web:broken"), "old pods gone");
    const r = await h.get("/api/health", { Host: HOST });
    expect(r.status).toBe(503);
  });
});
