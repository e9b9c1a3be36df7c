/**
 * Locks that hold (issue 13, items 6–9), through the real bin against the simulator: a Lease deleted under a live
 * release, a rollback that outlasts the stale time, a rollback started on a machine whose clock is 45 s ahead, and a
 * SIGTERM during `deploy --repair`'s rollback. The end state is read from the cluster's objects.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import { readLock } from "#src/kube/lease-lock.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { bin, killDeployAt, spawnBin, waitLockStale, whenStderr } from "../support/bin.ts";
import { DEPLOYMENTS, INGRESSES, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting, image } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const OBSERVING_10 = "canary 10% · weight 10% · waiting for observation window";
const OBSERVING_50 = "canary 50% · weight 50% · waiting for observation window";
const SKEWED_CLOCK = pathToFileURL(fileURLToPath(new URL("../support/skewed-clock.mjs", import.meta.url))).href;

/** Canary weight or size changes among `events`, as "kind name: what". */
function productionWrites(events: Harness["events"]): string[] {
  return events
    .filter((r) => r.event.type !== "ADDED" && (r.event.typeKey === INGRESSES || r.event.typeKey === DEPLOYMENTS))
    .map((r) => {
      const o = r.event.object as any;
      return r.event.typeKey === INGRESSES
        ? `ingress ${o.metadata.name}: weight ${o.metadata.annotations?.["nginx.ingress.kubernetes.io/canary-weight"]}`
        : `deployment ${o.metadata.name}: ${o.spec.replicas} replicas`;
    });
}

describe("6. a deleted Lease is a lost lock", () => {
  it("an operator's rollback after the Lease was deleted: the live release stops without touching production or re-creating its state", async () => {
    // ttl 12 s: the release renews every 2 s, so it notices the deletion within 2 s, wherever the rollback is by then.
    h = await startHarness({ config: (d) => ((d.phases[0].observe = "20s"), (d.lock.ttl = "12s")) });
    const release = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(release, OBSERVING_10);
    const del = await h.kubectl.run(["delete", "lease", "release-gate", "-n", NS]);
    expect(del.exitCode, del.stderr).toBe(0);
    const rb = await bin(h, ["rollback", "--reason", "lease deleted"]);
    expect(rb.code, rb.stderr).toBe(0);
    const afterRollback = h.events.length;
    const r = await release;
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(
      /release of 1\.1\.0 stopped at canary 10%: the release lock was taken over by .*; nothing rolled back by this run/,
    );
    expect(String(r.stderr)).not.toMatch(/rolling back/);
    // Once the rollback was done, the release changed nothing (today's main rolled back a second time and wrote a
    // state over the cleared one): no route or Deployment write, no state, one record (the rollback's).
    expect(productionWrites(h.events.slice(afterRollback))).toEqual([]);
    expect((await inspectInFlight(h.env.kube, NS)).kind).toBe("none");
    expect((await readHistory(h.env.kube, NS)).map((x) => x.command)).toEqual(["rollback"]);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.rollbackReason).toMatch(/^lease deleted; interrupted release 1\.1\.0/);
    expectInvariants(h);
  }, 90_000);
});

describe("7. rollback renews its Lease like any run", () => {
  it("a rollback that outlasts the stale time is not taken over by deploy --repair", async () => {
    // ttl 6 s: renewals every second, a holder silent for 3 s counts as dead; the rollback lasts over 8 s. (Not
    // shorter: renewals are due within 2.5 intervals, and a loaded machine must not make the rollback give up.)
    h = await startHarness({
      config: (d) => ((d.phases[0].observe = "20s"), (d.lock.ttl = "6s"), (d.deadlines.weightVerified = "20s")),
    });
    await killDeployAt(h, "1.1.0", OBSERVING_10);
    await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
    // The rollback's weight-0 write is answered 8 s late: the rollback is alive, and busy, for longer than the stale time.
    h.sim.faults.add({ verb: "patch", resource: "ingresses", times: 1, fault: { type: "latency", ms: 8000 } });
    const rollback = spawnBin(h, ["rollback", "--reason", "slow API"]);
    await whenStderr(rollback, "rollback · weight 0% · started");
    const holder = (await readLock(h.env.kube, NS))?.holder;
    const repair = await bin(h, ["deploy", "--tag", "1.2.0", "--repair"]);
    expect(repair.code, repair.stderr).toBe(2);
    expect(repair.stderr).toContain(`another run holds the release lock in namespace ${NS}: ${holder}`);
    expect(repair.stderr).toMatch(/It is alive/);
    const r = await rollback;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    await expectResting(h, OLD, "rolled-back");
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(deploymentImages(h, `${svc}-canary`)).not.toContain(image(svc, "1.2.0"));
    expectInvariants(h);
  }, 90_000);
});

describe("8. staleness is judged by watching renewals, never by comparing clocks", () => {
  it("a rollback from a machine whose clock is 45 s ahead does not take over a live release", async () => {
    // ttl 12 s: the release renews every 2 s; by the fast clock its last renewal always looks 45 s old.
    h = await startHarness({ config: (d) => ((d.phases[0].observe = "8s"), (d.lock.ttl = "12s")) });
    const release = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(release, OBSERVING_10);
    const fast = { NODE_OPTIONS: `--import=${SKEWED_CLOCK}`, RELEASE_GATE_TEST_CLOCK_SKEW_MS: "45000" };
    const rb = await bin(h, ["rollback", "--reason", "from a fast clock"], undefined, fast);
    expect(rb.code, rb.stderr).toBe(2);
    expect(rb.stderr).toMatch(
      /another run holds the release lock .*: cli-tester .*It is alive \(it renewed the lock while this run watched\)/,
    );
    // The release was never taken over: it goes on and completes.
    const r = await release;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).not.toMatch(/taken over/);
    await expectResting(h, "1.1.0", "succeeded");
    expectInvariants(h);
  }, 90_000);
});

describe("9. a signal during deploy --repair's rollback stops the whole command", () => {
  it("SIGTERM while repairing: the repair finishes and is recorded, the new release never starts", async () => {
    h = await startHarness({ config: (d) => ((d.phases[1].observe = "20s"), (d.lock.ttl = "6s")) });
    await killDeployAt(h, "1.1.0", OBSERVING_50);
    await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
    // The repair's weight-0 write is answered 2 s late, so the signal surely lands while it repairs.
    h.sim.faults.add({ verb: "patch", resource: "ingresses", times: 1, fault: { type: "latency", ms: 2000 } });
    const repair = spawnBin(h, ["deploy", "--tag", "1.2.0", "--repair"]);
    await whenStderr(repair, "rollback · weight 0% · started");
    repair.kill("SIGTERM");
    const r = await repair;
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(
      new RegExp(
        /deploy --repair stopped after its repair \(SIGTERM received \(run cancelled\)\): /.source +
          /the interrupted release of 1\.1\.0 was rolled back \(rolled-back; its record is stored\), /.source +
          /and the release of 1\.2\.0 was NOT started\. Production now: all traffic on stable running/.source,
      ),
    );
    // 1.2.0 never reached a Deployment (today's main went on to set it on the canaries).
    for (const svc of ["qualisys-api", "qualisys-web"]) {
      expect(deploymentImages(h, `${svc}-canary`)).not.toContain(image(svc, "1.2.0"));
      expect(deploymentImages(h, `${svc}-stable`)).toEqual([image(svc, OLD)]);
    }
    expect((await readHistory(h.env.kube, NS)).map((x) => x.command)).toEqual(["rollback"]);
    await expectResting(h, OLD, "rolled-back");
    expectInvariants(h);
  }, 90_000);
});

/** Every image a Deployment's template had during the scenario, in order. */
function deploymentImages(h: Harness, name: string): string[] {
  const seen: string[] = [];
  for (const r of h.events) {
    const o = r.event.object as any;
    if (r.event.typeKey !== DEPLOYMENTS || o.metadata.name !== name) continue;
    for (const c of o.spec.template.spec.containers) if (seen.at(-1) !== c.image) seen.push(c.image);
  }
  return seen;
}
