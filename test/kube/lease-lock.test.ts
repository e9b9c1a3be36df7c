/**
 * The release lock (kube/lease-lock.ts) against the simulator: one holder, takeovers only of a stale holder (or
 * forced), replayed writes that were ours, renewals by one PUT that carries the resourceVersion (no read), and a
 * run that stops when its renewals fail or its Lease is gone. Waits are for conditions, never for a time.
 */
import { V1MicroTime } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Kube } from "#src/kube/client.ts";
import {
  confirmedLock,
  judgedBySilence,
  LockHeldError,
  LockLostError,
  readLock,
  ReleaseLock,
  renewIntervalMs,
} from "#src/kube/lease-lock.ts";
import type { Sim } from "../sim/index.ts";
import { startBareSim } from "../support/bare-sim.ts";

const NS = "production";
let sim: Sim;
let kube: Kube;

beforeAll(async () => {
  ({ sim, kube } = await startBareSim(NS));
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.faults.clear();
  await kube.coordination.deleteNamespacedLease({ name: "release-gate", namespace: NS }).catch(() => undefined);
});

/** The holder's renewal as its own clock writes it: now, `skewMs` off this machine's clock. */
async function skewRenewTime(skewMs: number): Promise<void> {
  const lease = await kube.coordination.readNamespacedLease({ name: "release-gate", namespace: NS });
  await kube.coordination.replaceNamespacedLease({
    name: "release-gate",
    namespace: NS,
    body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime(Date.now() + skewMs) } },
  });
}

/** Resolves once `check` holds, polling every 20 ms (the condition, never a fixed time, decides). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the release lock", () => {
  it("one holder: a second run is refused with the holder's name; a forced takeover is noticed by the old holder", async () => {
    const a = await ReleaseLock.acquire(kube, NS, { identity: "run-a", ttlMs: 6000 });
    const refused = await ReleaseLock.acquire(kube, NS, { identity: "run-b", ttlMs: 6000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toMatch(/holds the release lock .*: run-a \(since .*, last renewed .*\); nothing was changed/);
    expect((refused as LockHeldError).alive).toBe(false); // Not watched: a plain acquisition never takes a held lock.
    expect((await readLock(kube, NS))?.holder).toBe("run-a");
    let lostTo: string | undefined;
    a.startRenewing((err) => (lostTo = err.holder));
    const c = await ReleaseLock.acquire(kube, NS, { identity: "rollback-c", ttlMs: 6000, force: true });
    expect(c.takenOverFrom?.holder).toBe("run-a");
    await until("run-a to notice the takeover", () => lostTo !== undefined);
    expect(lostTo).toBe("rollback-c");
    expect(a.signal.aborted).toBe(true);
    expect((a.signal.reason as LockLostError).how).toBe("taken");
    await a.release(); // Not its lock any more: it must not clear it.
    expect((await readLock(kube, NS))?.holder).toBe("rollback-c");
    await c.release();
    expect(await readLock(kube, NS)).toBeUndefined();
  });

  it("a takeover watches the holder first: one that renews meanwhile is alive and kept; one silent for 3 of its intervals is taken", async () => {
    // ttl 1.2 s, a Lease of 2 s (whole seconds): its holder counts as renewing every 333 ms, so the watch lasts 1 s of
    // this process's own time.
    const live = await ReleaseLock.acquire(kube, NS, { identity: "live-run", ttlMs: 1200 });
    live.startRenewing();
    const waited: string[] = [];
    const refused = await ReleaseLock.acquire(kube, NS, {
      identity: "rollback",
      ttlMs: 1200,
      takeOverStale: true,
      onWaiting: (w) => waited.push(w),
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as LockHeldError).alive).toBe(true);
    expect((refused as Error).message).toMatch(/live-run .*It is alive \(it renewed the lock while this run watched\)/);
    expect(waited).toEqual([expect.stringMatching(/^1\.0 s to see whether live-run still renews the release lock/)]);
    live.stopRenewing(); // It dies: the next watch sees it silent.
    const taken = await ReleaseLock.acquire(kube, NS, { identity: "rollback", ttlMs: 1200, takeOverStale: true });
    expect(taken.takenOverFrom).toMatchObject({ holder: "live-run", stale: true });
    expect(taken.takenOverFrom?.observedSilentMs).toBeGreaterThanOrEqual(1000);
    // A plain acquisition never takes a held lock, however long its holder has been silent.
    await expect(ReleaseLock.acquire(kube, NS, { identity: "next-run", ttlMs: 1200 })).rejects.toBeInstanceOf(LockHeldError);
    await taken.release();
    const next = await ReleaseLock.acquire(kube, NS, { identity: "next-run", ttlMs: 1200 });
    await next.release();
  });

  it("staleness does not depend on clocks: a live holder 45 s behind is kept, a dead holder 45 s ahead is taken", async () => {
    // A holder whose clock is 45 s behind this process writes renewTimes that look 45 s old here.
    const behind = await ReleaseLock.acquire(kube, NS, { identity: "slow-clock", ttlMs: 1200 });
    await skewRenewTime(-45_000);
    const renewing = setInterval(() => void skewRenewTime(-45_000).catch(() => undefined), 150);
    try {
      expect((await readLock(kube, NS))?.stale).toBe(true); // By the local clock it would look dead.
      const refused = await ReleaseLock.acquire(kube, NS, { identity: "rollback", ttlMs: 1200, takeOverStale: true }).catch(
        (e: unknown) => e,
      );
      expect((refused as LockHeldError).alive).toBe(true);
    } finally {
      clearInterval(renewing);
    }
    await behind.release();
    // A holder 45 s ahead wrote a renewTime in the future and died: by the local clock it would never look stale.
    await ReleaseLock.acquire(kube, NS, { identity: "fast-clock", ttlMs: 1200 });
    await skewRenewTime(45_000);
    expect((await readLock(kube, NS))?.stale).toBe(false);
    const taken = await ReleaseLock.acquire(kube, NS, { identity: "rollback", ttlMs: 1200, takeOverStale: true });
    expect(taken.takenOverFrom?.holder).toBe("fast-clock");
    await taken.release();
  });

  it("what status says of the holder does not depend on clocks either: watched before it is called dead", async () => {
    const behind = await ReleaseLock.acquire(kube, NS, { identity: "slow-clock", ttlMs: 1200 });
    await skewRenewTime(-45_000);
    const renewing = setInterval(() => void skewRenewTime(-45_000).catch(() => undefined), 150);
    const waited: string[] = [];
    try {
      // Stale by the local clock, but it renews while watched: alive.
      const alive = await confirmedLock(kube, NS, (w) => waited.push(w));
      expect(alive).toMatchObject({ holder: "slow-clock", stale: false });
      expect(waited.join()).toMatch(/to see whether slow-clock still renews the release lock/);
    } finally {
      clearInterval(renewing);
    }
    // The same holder, silent now: dead, after being watched for its whole stale window.
    const dead = await confirmedLock(kube, NS);
    expect(dead).toMatchObject({ holder: "slow-clock", stale: true });
    expect(dead!.observedSilentMs).toBeGreaterThanOrEqual(3 * renewIntervalMs(1200));
    await behind.release();
    expect(await confirmedLock(kube, NS)).toBeUndefined();
    // Judged by silence alone: the local clock's verdict (fresh, 45 s ahead) does not count.
    const fresh = { holder: "h", renewedAt: "2026-01-01T00:00:00Z", expiresAt: "2026-01-01T00:00:01.200Z", expired: false, stale: false };
    expect(judgedBySilence(fresh, 3 * renewIntervalMs(1200)).stale).toBe(true);
    expect(judgedBySilence({ ...fresh, stale: true }, 3 * renewIntervalMs(1200) - 1).stale).toBe(false);
  });

  it("renews with one PUT carrying the resourceVersion, never a read first, and releases the same way", async () => {
    const lock = await ReleaseLock.acquire(kube, NS, { identity: "renewer", ttlMs: 1200 });
    sim.faults.resetCounters();
    const first = (await readLock(kube, NS))?.renewedAt;
    lock.startRenewing();
    await until("two renewals", () => (sim.faults.requests().byVerb.update ?? 0) >= 2);
    lock.stopRenewing();
    const counts = sim.faults.requests();
    // The readLock calls of this test are its only reads; the lock itself wrote.
    expect(counts.byVerb.get ?? 0).toBe(1);
    expect((await readLock(kube, NS))?.renewedAt).not.toBe(first);
    sim.faults.resetCounters();
    await lock.release();
    expect(sim.faults.requests()).toMatchObject({ total: 1, byVerb: { update: 1 } });
    expect(await readLock(kube, NS)).toBeUndefined();
  });

  it("a renewal that conflicts reads the Lease: someone else's is a takeover; its own (a replayed write) is kept", async () => {
    const lock = await ReleaseLock.acquire(kube, NS, { identity: "replayed", ttlMs: 1200 });
    // The renewal is applied, its answer lost (503), the transport replays it: 409 against our own write.
    sim.faults.add({ verb: "update", resource: "leases", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    expect(await lock.renew()).toBe("replayed");
    expect(await lock.renew()).toBe("replayed"); // And renewing goes on from the Lease read.
    // Someone else writes the Lease: the next renewal conflicts, reads it and reports the new holder.
    const lease = await kube.coordination.readNamespacedLease({ name: "release-gate", namespace: NS });
    await kube.coordination.replaceNamespacedLease({
      name: "release-gate",
      namespace: NS,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "usurper" } },
    });
    expect(await lock.renew()).toBe("usurper");
    await lock.release(); // Not ours: left alone.
    expect((await readLock(kube, NS))?.holder).toBe("usurper");
  });

  it("a deleted Lease is a lost lock: the run stops", async () => {
    const lock = await ReleaseLock.acquire(kube, NS, { identity: "orphan", ttlMs: 1200 });
    const signal = lock.startRenewing();
    await kube.coordination.deleteNamespacedLease({ name: "release-gate", namespace: NS });
    const reason = await new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
    expect(reason).toBeInstanceOf(LockLostError);
    expect((reason as Error).message).toMatch(/freed or deleted under this run/);
    expect((reason as LockLostError).takenOver).toBe(true); // Anyone may hold it now: the run must not touch production.
    await lock.release();
    expect(await readLock(kube, NS)).toBeUndefined();
  });

  it("replayed acquisitions (create or replace applied, answered 503, replayed: 409) are ours", async () => {
    sim.faults.add({ verb: "create", resource: "leases", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    const a = await ReleaseLock.acquire(kube, NS, { identity: "replayed-create", ttlMs: 60_000 });
    expect(sim.faults.active()).toEqual([]);
    expect((await readLock(kube, NS))?.holder).toBe("replayed-create");
    await a.release();
    sim.faults.add({ verb: "update", resource: "leases", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    const b = await ReleaseLock.acquire(kube, NS, { identity: "replayed-replace", ttlMs: 60_000 });
    expect(sim.faults.active()).toEqual([]);
    expect((await readLock(kube, NS))?.holder).toBe("replayed-replace");
    await b.release();
  });

  it("renewals that keep failing, or hang, abort the lock's signal before the Lease may expire", async () => {
    for (const fault of [
      { type: "status", code: 503 },
      { type: "latency", ms: 2500 },
    ] as const) {
      const lock = await ReleaseLock.acquire(kube, NS, { identity: `run-${fault.type}`, ttlMs: 2000 });
      const signal = lock.startRenewing();
      expect(signal).toBe(lock.signal);
      const first = (await readLock(kube, NS))?.renewedAt;
      await until("a renewal", async () => (await readLock(kube, NS))?.renewedAt !== first);
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
      expect(await readLock(kube, NS)).toBeUndefined();
    }
  });

  it("renews every ttl/6, between 200 ms and 10 s", () => {
    expect(renewIntervalMs(1200)).toBe(200);
    expect(renewIntervalMs(12_000)).toBe(2_000);
    expect(renewIntervalMs(900_000)).toBe(10_000);
  });
});
