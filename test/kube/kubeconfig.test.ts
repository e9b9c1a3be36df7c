/** Kubernetes access: kubeconfig sources, transient-error retries, the Lease lock (against the simulator's API server). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { UsageError } from "#src/errors.ts";
import { kubeFromConfig, type Kube } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import { LockHeldError, LockLostError, readLock, ReleaseLock } from "#src/kube/lease-lock.ts";
import { retryAfterMs } from "#src/kube/transient.ts";
import { clearInFlight, StateOwnedError, writeInFlight, type InFlight } from "#src/pipeline/state.ts";
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

  it("the Lease lock: one holder, refusal names it, expiry frees it, rollback may take it over", async () => {
    const a = await ReleaseLock.acquire(kube, "production", { identity: "run-a", ttlMs: 1000 });
    const refused = await ReleaseLock.acquire(kube, "production", { identity: "run-b", ttlMs: 1000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toMatch(/holds the release lock .*: run-a \(.*last renewed [\d.]+ s ago/);
    expect((await readLock(kube, "production"))?.holder).toBe("run-a");
    // Renewal keeps it; a forced take-over is noticed by the old holder.
    let lostTo: string | undefined;
    a.startRenewing((err) => (lostTo = err.holder));
    const c = await ReleaseLock.acquire(kube, "production", { identity: "rollback-c", ttlMs: 1000, force: true });
    expect(c.takenOverFrom?.holder).toBe("run-a");
    await new Promise((r) => setTimeout(r, 600));
    expect(lostTo).toBe("rollback-c");
    await a.release(); // Not its lock any more: must not clear it.
    expect((await readLock(kube, "production"))?.holder).toBe("rollback-c");
    await c.release();
    expect(await readLock(kube, "production")).toBeUndefined();
    // Expiry: a holder that stops renewing loses the lock after ttl.
    await ReleaseLock.acquire(kube, "production", { identity: "dead-run", ttlMs: 1000 });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await readLock(kube, "production"))?.expired).toBe(true);
    const d = await ReleaseLock.acquire(kube, "production", { identity: "next-run", ttlMs: 1000 });
    expect(d.takenOverFrom?.holder).toBe("dead-run");
    await d.release();
  });

  it("a write applied but answered 503, then replayed (409), is ours: the Lease is acquired, the in-flight state written", async () => {
    // Lease create: applied, answered 503, replayed by the transport, 409. The Lease names this run: acquired.
    await kube.coordination.deleteNamespacedLease({ name: "release-gate", namespace: "production" }).catch(() => undefined);
    sim.faults.add({ verb: "create", resource: "leases", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    const a = await ReleaseLock.acquire(kube, "production", { identity: "replayed-create", ttlMs: 60_000 });
    expect(sim.faults.active()).toEqual([]);
    expect((await readLock(kube, "production"))?.holder).toBe("replayed-create");
    await a.release();
    // Lease replace (taking a freed Lease): the same with the compare-and-swap's 409.
    sim.faults.add({ verb: "update", resource: "leases", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    const b = await ReleaseLock.acquire(kube, "production", { identity: "replayed-replace", ttlMs: 60_000 });
    expect(sim.faults.active()).toEqual([]);
    expect((await readLock(kube, "production"))?.holder).toBe("replayed-replace");
    await b.release();
    // The state ConfigMap: a replayed create finds our own state, so the write is done (no rollback of a healthy release).
    const at = new Date().toISOString();
    const state: InFlight = {
      id: "rec-1",
      tag: "1.1.0",
      holder: "replayed-create",
      startedAt: at,
      step: "canary 10%",
      passedWeight: 0,
      promotionStarted: false,
      services: [
        {
          name: "api",
          stableDeployment: "api-stable",
          canaryDeployment: "api-canary",
          container: "api",
          previousImage: "api:1.0.0",
          newImage: "api:1.1.0",
          previousTemplate: {},
          stableReplicas: 4,
        },
      ],
      record: {
        id: "rec-1",
        command: "deploy",
        namespace: "production",
        tag: "1.1.0",
        triggeredBy: "tester",
        startedAt: at,
        outcome: "succeeded",
        services: [],
        steps: [],
      },
      updatedAt: at,
    };
    sim.faults.add({ verb: "create", resource: "configmaps", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    await writeInFlight(kube, "production", state);
    expect(sim.faults.active()).toEqual([]);
    const stored = JSON.parse(
      (await kube.core.readNamespacedConfigMap({ name: "release-gate-state", namespace: "production" })).data!["inflight.json"]!,
    );
    expect(stored).toMatchObject({ id: "rec-1", tag: "1.1.0" });
    // Another release's state is neither overwritten nor deleted.
    await expect(writeInFlight(kube, "production", { ...state, id: "rec-2" })).rejects.toBeInstanceOf(StateOwnedError);
    await expect(clearInFlight(kube, "production", "rec-2")).rejects.toBeInstanceOf(StateOwnedError);
    await clearInFlight(kube, "production", "rec-1");
    await expect(kube.core.readNamespacedConfigMap({ name: "release-gate-state", namespace: "production" })).rejects.toMatchObject({
      code: 404,
    });
  });

  it("renewals that keep failing, or hang, abort the lock's signal before the Lease may expire", async () => {
    for (const fault of [
      { type: "status", code: 503 },
      { type: "latency", ms: 2500 },
    ] as const) {
      const lock = await ReleaseLock.acquire(kube, "production", { identity: `run-${fault.type}`, ttlMs: 2000 });
      const signal = lock.startRenewing();
      expect(signal).toBe(lock.signal);
      // Renewing works: the Lease's renewTime moves.
      const first = (await readLock(kube, "production"))?.renewedAt;
      for (let i = 0; (await readLock(kube, "production"))?.renewedAt === first; i++) {
        expect(i, "the lock was never renewed").toBeLessThan(200);
        await new Promise((r) => setTimeout(r, 50));
      }
      sim.faults.add({ verb: "update", resource: "leases", fault });
      const reason = await new Promise<unknown>((resolve) =>
        signal.addEventListener("abort", () => resolve(signal.reason), { once: true }),
      );
      expect(reason, fault.type).toBeInstanceOf(LockLostError);
      expect((reason as LockLostError).message).toMatch(
        /^could not renew the release lock for [\d.]+ s \(last renewed .*\): another run could take it over, so this run stops moving traffic$/,
      );
      expect((reason as LockLostError).holder).toBeUndefined();
      sim.faults.clear();
      await lock.release();
      expect(await readLock(kube, "production")).toBeUndefined();
    }
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
