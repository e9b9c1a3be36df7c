import { afterEach, describe, expect, it } from "vitest";
import { INGRESSES } from "../../controllers/types.ts";
import { ingress, startEdgeHarness, type EdgeHarness } from "./harness.ts";

let h: EdgeHarness;
afterEach(async () => h?.close());

describe("simulated pods answer as the demo app", () => {
  it("serves health, readiness, login and the current user, with its version and pod name", async () => {
    h = await startEdgeHarness({ edge: { defaultHost: "app.qualisys.io" } });
    await h.app("web", "ghcr.io/qualisys/web:1.4.2", 1);
    h.store.create(INGRESSES, ingress("web", "app.qualisys.io", "web"));
    const health = await h.get("/api/health");
    expect(health.status).toBe(200);
    // The module's demo app answers (the same code as the kind rehearsal's pods): its version in the body too.
    expect(JSON.parse(health.body)).toEqual({ status: "ok", version: "1.4.2" });
    expect(health.headers["x-app-version"]).toBe("1.4.2");
    expect(health.headers["x-pod-name"]).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}$/);
    expect(JSON.parse((await h.get("/api/ready")).body)).toEqual({ status: "ready", checks: { database: "ok" } });
    const login = await h.get("/login");
    expect(login.status).toBe(200);
    expect(login.body).toContain("Sign In");
    expect((await h.get("/api/v1/user/me")).status).toBe(401);
    const me = await h.get("/api/v1/user/me", { Authorization: "Bearer t0ken" });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).id).toBeTruthy();
  });

  it("misbehaves as the scenario says, and can be told to mid-test", async () => {
    h = await startEdgeHarness({ edge: { defaultHost: "app.qualisys.io" } });
    await h.app("web", "web:2.0.0", 1);
    h.store.create(INGRESSES, ingress("web", "app.qualisys.io", "web"));
    expect((await h.get("/api/health")).status).toBe(200);
    h.setScenario({
      edge: { defaultHost: "app.qualisys.io" },
      images: [{ tag: "2.*", app: { version: "2.0.0-bad", failures: [{ paths: ["/api/**"], status: 500, body: "boom" }] } }],
    });
    const bad = await h.get("/api/health");
    expect(bad.status).toBe(500);
    expect(bad.body).toBe("boom");
    expect(bad.headers["x-app-version"]).toBe("2.0.0-bad");
    expect((await h.get("/login")).status).toBe(200); // outside the failing paths
    h.setScenario({
      edge: { defaultHost: "app.qualisys.io" },
      images: [{ tag: "2.*", app: { failures: [{ status: 503, afterSeconds: 1e6 }] } }],
    });
    expect((await h.get("/api/health")).status).toBe(200); // not running long enough yet
  });

  it("misbehaves as its version names, with the module's own failure (the kind rehearsal's bad versions)", async () => {
    h = await startEdgeHarness({ edge: { defaultHost: "app.qualisys.io" } });
    await h.app("web", "web:2.1.0-wrong-login", 1);
    h.store.create(INGRESSES, ingress("web", "app.qualisys.io", "web"));
    const login = await h.get("/login");
    expect(login.status).toBe(200);
    expect(login.body).not.toContain("Sign In");
    expect(login.headers["x-app-version"]).toBe("2.1.0-wrong-login");
    expect((await h.get("/api/health")).status).toBe(200);
  });

  it("fails only the configured fraction of requests", async () => {
    h = await startEdgeHarness({
      edge: { defaultHost: "app.qualisys.io" },
      images: [{ tag: "*", app: { failures: [{ status: 500, fraction: 0.5 }] } }],
    });
    await h.app("web", "web:3.0.0", 1);
    h.store.create(INGRESSES, ingress("web", "app.qualisys.io", "web"));
    let errors = 0;
    for (let i = 0; i < 400; i++) if ((await h.get("/api/health")).status === 500) errors++;
    expect(errors).toBeGreaterThanOrEqual(160); // 200 ± 4σ (σ = 10)
    expect(errors).toBeLessThanOrEqual(240);
  });
});
