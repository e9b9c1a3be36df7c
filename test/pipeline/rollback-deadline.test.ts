/**
 * A rollback has a deadline (weightVerified + scaleDown, plus stableRollout once promotion started) and every
 * API request a timeout: a stalled Kubernetes API ends the rollback with a message saying where production may
 * stand and to run `release-gate rollback` again, instead of hanging for undici's 300 s.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import { FailedError } from "#src/errors.ts";
import { canary, rollback } from "#src/pipeline/operator.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("rollback deadline", () => {
  it("the weight-0 write stalls: the rollback ends at its deadline saying the canary may still get traffic; a second rollback repairs", async () => {
    // Generous deadlines (a rollback on the simulator takes milliseconds): 3 s + 3 s.
    h = await startHarness({ config: (d) => Object.assign(d.deadlines, { weightVerified: "3s", scaleDown: "3s" }) });
    await canary(h.env, { tag: "2.1.0", weight: 50 });
    // Every patch of the canary Ingress (the weight) stalls longer than the rollback's deadline.
    h.sim.faults.add({ verb: "patch", resource: "ingresses", fault: { type: "latency", ms: 15_000 } });
    const err = await rollback(h.env, { reason: "stalled API" }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(FailedError);
    expect(err!.message).toMatch(/rollback did not finish within its deadline of 6s \(deadlines\.weightVerified \+ deadlines\.scaleDown\)/);
    expect(err!.message).toMatch(
      /it was setting the canary weight to 0, so the canary may still receive user traffic \(last known: canary weight between 50 and 50 %, stable untouched/,
    );
    expect(err!.message).toMatch(/Run `release-gate rollback` again once the Kubernetes API answers/);
    expect((await readHistory(h.env.kube, NS))[0]?.outcome).toBe("rollback-failed");
    expect((await inspectInFlight(h.env.kube, NS)).kind).toBe("ok");

    h.sim.faults.clear();
    await rollback(h.env, { reason: "API answers again" });
    await expectResting(h, OLD, "rolled-back");
  });
});
