import { existsSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { expect, it } from "vitest";
import { kubectlFor } from "../../../support/kubectl.ts";
import { startSim } from "../../index.ts";

it("starts from a scenario file with its objects, serves kubectl and the edge, and stop() closes everything", async () => {
  const sim = await startSim({ scenario: join(import.meta.dirname, "../../scenarios/canary-bad-release.yaml") });
  const k = await kubectlFor(sim.kubeconfigPath);
  try {
    const status = await k.run(["-n", "production", "rollout", "status", "deployment/qualisys-web", "--timeout=60s"]);
    expect(status.exitCode).toBe(0);
    const ns = await k.run(["get", "namespaces", "-o", "name"]);
    expect(ns.stdout.split("\n").sort()).toEqual([
      "namespace/default",
      "namespace/kube-node-lease",
      "namespace/kube-public",
      "namespace/kube-system",
      "namespace/production",
    ]);
    const r = await request(sim.edgeUrl + "/api/health"); // no Host: the scenario's defaultHost
    expect(r.statusCode).toBe(200);
    expect(r.headers["x-app-version"]).toBe("1.0.0");
    await r.body.text();
    const canary = await request(sim.edgeUrl + "/api/health", { headers: { "X-Canary": "always" } });
    expect(canary.statusCode).toBe(503); // canary Deployment at 0 replicas
    await canary.body.text();
  } finally {
    await k.dispose();
    await sim.stop();
  }
  expect(existsSync(sim.kubeconfigPath)).toBe(false);
  await expect(request(sim.apiUrl + "/version")).rejects.toThrow();
  await expect(request(sim.edgeUrl + "/api/health")).rejects.toThrow();
});

it("setScenario keeps fault rules added by the test unless the scenario's own rules change, and refuses a new time scale", async () => {
  const sim = await startSim({ scenario: { faults: [{ verb: "list", resource: "pods", fault: { type: "latency", ms: 1 } }] } });
  try {
    sim.faults.add({ verb: "patch", resource: "deployments", times: 1, fault: { type: "status", code: 503 } });
    sim.updateScenario((s) => ({ ...s, images: [{ tag: "2.*", pod: { kind: "crashLoop" } }] }));
    expect(sim.faults.active().map((r) => r.verb)).toEqual(["list", "patch"]);
    expect(sim.scenario.images[0]!.pod!.kind).toBe("crashLoop");
    sim.updateScenario((s) => ({ ...s, faults: [{ verb: "get", fault: { type: "reset" } }] }));
    expect(sim.faults.active().map((r) => r.verb)).toEqual(["get"]);
    expect(() => sim.setScenario({ timeScale: { msPerSecond: 1 } })).toThrow(/time scale is fixed/);
  } finally {
    await sim.stop();
  }
});
