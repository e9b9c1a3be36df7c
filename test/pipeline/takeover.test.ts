/**
 * Takeovers of the release lock (I6, I4): only a stale holder is taken over; `rollback --force` takes it from a
 * live run, which then stops WITHOUT touching production or the in-flight state, and the rollback brings
 * production to rest. `deploy --repair` validates its input before it changes anything, and preflight records
 * production as read under the lock.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import { FailedError, UsageError } from "#src/errors.ts";
import { LockHeldError, readLock } from "#src/kube/lease-lock.ts";
import type { PipelineEnv } from "#src/pipeline/context.ts";
import { canary, rollback } from "#src/pipeline/operator.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { DEPLOYMENTS, INGRESSES, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting, image } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Another run (its own identity), whose progress lines are kept apart, each with the event count at that moment. */
function otherRun(h: Harness, identity: string): { env: PipelineEnv; log: Array<{ line: string; events: number }> } {
  const log: Array<{ line: string; events: number }> = [];
  const push = (line: string) => log.push({ line, events: h.events.length });
  return {
    env: {
      ...h.env,
      identity,
      progress: {
        step: (l) => push(`step ${l}`),
        waiting: (w) => push(`waiting ${w}`),
        info: (m) => push(`info ${m}`),
        warn: (m) => push(`warn ${m}`),
      },
    },
    log,
  };
}

/** Canary weight or replica changes among `events` (deployments and the canary Ingress). */
function productionChanges(events: Harness["events"]): string[] {
  return events
    .filter((r) => r.event.type === "MODIFIED" && (r.event.typeKey === DEPLOYMENTS || r.event.typeKey === INGRESSES))
    .map((r) => `${r.event.typeKey} ${(r.event.object as { metadata: { name: string } }).metadata.name}`);
}

describe("lock takeover", () => {
  it("rollback refuses a live run; with --force the run stops without touching production and the rollback brings it to rest", async () => {
    // ttl 9 s: renewals every 1.5 s; the 20 s window is never waited out (the run stops at the takeover).
    h = await startHarness({ config: (d) => ((d.phases[1].observe = "20s"), (d.lock.ttl = "9s")) });
    const harness = h;
    let observing!: () => void;
    const inWindow = new Promise<void>((r) => (observing = r));
    let inFifty = false;
    harness.onStep("canary 50%", () => (inFifty = true));
    const runEnv: PipelineEnv = {
      ...harness.env,
      progress: {
        ...harness.env.progress,
        waiting(what) {
          harness.env.progress.waiting(what);
          if (inFifty && what.startsWith("observation window")) observing();
        },
      },
    };
    const first = deploy(runEnv, { tag: "1.1.0" }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await inWindow;

    // A live holder is refused: rollback (exit 2, naming it and when it renewed) and deploy --resume alike.
    const b = otherRun(harness, "rollback-b #2");
    const refused = await rollback(b.env, { reason: "emergency" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as UsageError).exitCode).toBe(2);
    expect((refused as Error).message).toContain(`holds the release lock in namespace ${NS}: ${harness.env.identity} (`);
    // It watched the holder renew the lock: alive, by what it saw and not by comparing clocks.
    expect((refused as Error).message).toMatch(
      /last renewed \S+\); nothing was changed\. It is alive \(it renewed the lock while this run watched\).*rollback --force/,
    );
    const resumed = await deploy(otherRun(harness, "resumer #3").env, { tag: "1.1.0", resume: true }).catch((e: unknown) => e);
    expect(resumed).toBeInstanceOf(LockHeldError);
    expect((await readLock(harness.env.kube, NS))?.holder).toBe(harness.env.identity);

    // --force: the first run stops at its next renewal, without rolling back; the rollback waits for that, then acts.
    const rec = await rollback(b.env, { reason: "emergency", force: true });
    expect(rec.outcome).toBe("rolled-back");
    const err = await first;
    expect(err).toBeInstanceOf(FailedError);
    expect(err?.message).toMatch(
      new RegExp(
        /^release of 1\.1\.0 stopped at canary 50%: the release lock was taken over by rollback-b #2; /.source +
          /that run now owns production; nothing rolled back by this run/.source,
      ),
    );
    expect(harness.log).not.toContainEqual(expect.stringMatching(/^step rollback|^warn rolling back/));
    // From the takeover until the rollback's own first step, nobody changed production (the first run did nothing).
    const takeover = b.log.find((l) => l.line.startsWith("warn took the release lock over from"));
    const acting = b.log.find((l) => l.line === "step rollback");
    expect(takeover?.line).toMatch(/\(--force; it last renewed it at /);
    expect(productionChanges(harness.events.slice(takeover!.events, acting!.events))).toEqual([]);
    // The rollback found the first run's in-flight state (not deleted under it) and brought production to rest (I4).
    expect(rec.rollbackReason).toMatch(/^emergency; interrupted release 1\.1\.0 .* stopped at "canary 50%"/);
    await expectResting(harness, OLD, "rolled-back");
    // The stopped run wrote no record over the rollback's.
    expect((await readHistory(harness.env.kube, NS)).map((r) => r.command)).toEqual(["rollback"]);
    expectInvariants(harness);
  }, 60_000);
});

describe("deploy --repair", () => {
  it("with a bad tag is refused before anything in the cluster changes (the interrupted canary is left to repair)", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    await canary(h.env, { tag: "2.1.0", weight: 10 });
    const rv = h.sim.store.resourceVersion();
    const err = await deploy(h.env, { tag: "x;rm -rf /", repair: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect(h.sim.store.resourceVersion()).toBe(rv);
  });
});

describe("preflight reads production under the lock", () => {
  it("a stable changed while the run waits for the lock is what the run records as previous", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const harness = h;
    // The Lease read answers slowly: the run has validated its input and is taking the lock.
    harness.sim.faults.add({ verb: "get", resource: "leases", times: 1, fault: { type: "latency", ms: 5000 } });
    const leaseReads = () => harness.sim.faults.requests().byResource.leases ?? 0;
    const before = leaseReads();
    const run = deploy(harness.env, { tag: "1.1.0" });
    while (leaseReads() === before) await new Promise((r) => setTimeout(r, 20));
    // Meanwhile stable changes (another run's promotion, or a hand change): the release must record this one.
    const set = await harness.kubectl.run([
      "set",
      "image",
      "deployment/qualisys-api-stable",
      `qualisys-api=${image("qualisys-api", "1.0.1")}`,
      "-n",
      NS,
    ]);
    expect(set.exitCode, set.stderr).toBe(0);
    const rec = await run;
    expect(rec.services[0]).toMatchObject({ previousImage: image("qualisys-api", "1.0.1"), newImage: image("qualisys-api", "1.1.0") });
  }, 60_000);
});
