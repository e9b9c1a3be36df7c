/** Kubernetes access: kubeconfig sources, transient-error retries, the Lease lock (against the simulator's API server). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { UsageError } from "#src/errors.ts";
import { kubeFromConfig, type Kube } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import { retryAfterMs } from "#src/kube/transient.ts";
import { startSim, type Sim } from "../sim/index.ts";

describe("kubeconfig sources", () => {
  it("refuses a missing file, no source at all, and an unparsable string, with exit 2", () => {
    expect(() => loadKubeConfig({ path: "/nope/kubeconfig", env: {} })).toThrow(/\/nope\/kubeconfig does not exist/);
    expect(() => loadKubeConfig({ env: {} })).toThrow(UsageError);
    expect(() => loadKubeConfig({ env: { KUBECONFIG: "/nope/a:/nope/b" } })).toThrow(/\/nope\/a \(from KUBECONFIG\) does not exist/);
    expect(() => loadKubeConfig({ env: { RELEASE_GATE_KUBECONFIG: "clusters: [" } })).toThrow(/cannot load kubeconfig/);
  });
});

describe("with the simulator", () => {
  let sim: Sim;
  let kube: Kube;
  beforeAll(async () => {
    sim = await startSim({});
    kube = kubeFromConfig(loadKubeConfig({ path: sim.kubeconfigPath, env: {} }), {
      retry: { minTimeoutMs: 10, maxTimeoutMs: 50, maxRetryAfterMs: 100 },
    });
    await kube.core.createNamespace({ body: { metadata: { name: "production" } } });
  });
  afterAll(() => sim.stop());

  it("loads the same cluster from a kubeconfig string", async () => {
    const text = await readFile(sim.kubeconfigPath, "utf8");
    const k = kubeFromConfig(loadKubeConfig({ env: { RELEASE_GATE_KUBECONFIG: text } }));
    expect((await k.core.readNamespace({ name: "production" })).metadata?.name).toBe("production");
  });

  it("retries 429, 500, 503 and connection resets, then succeeds", async () => {
    sim.faults.add({ verb: "get", resource: "namespaces", times: 1, fault: { type: "status", code: 429, retryAfterSeconds: 0 } });
    sim.faults.add({ verb: "get", resource: "namespaces", times: 1, fault: { type: "status", code: 500 } });
    sim.faults.add({ verb: "get", resource: "namespaces", times: 1, fault: { type: "reset" } });
    sim.faults.add({ verb: "get", resource: "namespaces", times: 1, fault: { type: "status", code: 503 } });
    expect((await kube.core.readNamespace({ name: "production" })).metadata?.name).toBe("production");
    expect(sim.faults.active().every((r) => r.remaining === 0)).toBe(true);
  });

  it("gives up after its retries with the server's error, and never retries a 404", async () => {
    const strict = kubeFromConfig(loadKubeConfig({ path: sim.kubeconfigPath, env: {} }), {
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 10 },
    });
    sim.faults.add({ verb: "get", resource: "namespaces", times: 5, fault: { type: "status", code: 500 } });
    await expect(strict.core.readNamespace({ name: "production" })).rejects.toMatchObject({ code: 500 });
    expect(sim.faults.active()[0].remaining).toBe(2); // 1 try + 2 retries
    sim.faults.clear();
    const before = sim.faults.requests().total;
    await expect(strict.core.readNamespace({ name: "missing" })).rejects.toMatchObject({ code: 404 });
    expect(sim.faults.requests().total - before).toBe(1);
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates", () => {
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});
