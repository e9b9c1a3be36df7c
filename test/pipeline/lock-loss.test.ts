/**
 * Lock loss: a run whose Lease renewals keep failing stops moving traffic before the Lease can expire under it
 * (another run could take the lock then), and rolls back like any failure.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PipelineEnv } from "#src/pipeline/context.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { readLock } from "#src/kube/lease-lock.ts";
import { NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { stableTemplateImages } from "../support/invariants.ts";
import { expectInvariants, expectResting, image } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("lock loss", () => {
  it("Lease renewals failing during the 50 % observation window: the run stops with the lock-loss reason and rolls back to rest", async () => {
    // ttl 9 s: renewals every 1.5 s must keep failing for 3.75 s (before the lock looks stale to others, 4.5 s)
    // before the run gives up, so a slow machine never loses the lock before the fault; the 20 s window is cut
    // short by the loss, never waited out.
    h = await startHarness({ config: (d) => ((d.phases[1].observe = "20s"), (d.lock.ttl = "9s")) });
    const harness = h;
    let inFifty = false;
    let injected = false;
    harness.onStep("canary 50%", () => (inFifty = true));
    // Every Lease update answers 503 from the moment the 50 % observation window opens.
    const env: PipelineEnv = {
      ...harness.env,
      progress: {
        ...harness.env.progress,
        waiting(what) {
          harness.env.progress.waiting(what);
          if (inFifty && !injected && what.startsWith("observation window")) {
            injected = true;
            harness.sim.faults.add({ verb: "update", resource: "leases", fault: { type: "status", code: 503 } });
          }
        },
      },
    };
    const err = await deploy(env, { tag: "1.1.0" }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(injected).toBe(true);
    expect(err?.message).toMatch(
      new RegExp(
        /release of 1\.1\.0 failed at canary 50%: cancelled: could not renew the release lock for .* /.source +
          /another run could take it over, so this run stops moving traffic\. /.source +
          /Rolled back automatically .*Production now: all traffic on stable running/.source,
      ),
    );
    // The window (20 s) was cut short by the lock loss, not waited out.
    expect(harness.log).toContainEqual(
      expect.stringMatching(/^warn rolling back: canary 50%: cancelled: could not renew the release lock/),
    );
    // The lock could not be given back either (its updates fail): it is still ours until it expires.
    expect(harness.log).toContainEqual(expect.stringMatching(/^warn could not release the lock \(it expires by itself\)/));
    harness.sim.faults.clear();
    expect((await readLock(harness.env.kube, NS))?.holder).toBe(harness.env.identity);
    const rec = await expectResting(harness, OLD, "rolled-back", undefined, { lockFree: false });
    expect(rec.rollbackReason).toMatch(/^canary 50%: cancelled: could not renew the release lock/);
    expect(rec.steps.map((s) => [s.name, s.result])).toEqual([
      ["canary 10%", "passed"],
      ["canary 50%", "interrupted"],
      ["rollback", "passed"],
    ]);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(harness.events, svc)).toEqual([image(svc, OLD)]);
    expectInvariants(harness);
  }, 60_000);
});
