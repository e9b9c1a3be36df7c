/**
 * The operator's `promote` after `canary --weight 100` ends like deploy's promotion (defects 2 and 3 of issue 9):
 * once stable runs the new version and traffic is back on it, a failure to remove the canary header routing is a
 * warning, never a reason to undo the release; and the record is stored before the in-flight state is cleared, so
 * a state that cannot be cleared never costs the record.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import { canary, promote } from "#src/pipeline/operator.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { readStatus } from "#src/pipeline/status.ts";
import type { PipelineEnv } from "#src/pipeline/context.ts";
import { NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { stableTemplateImages } from "../support/invariants.ts";
import { expectInvariants, expectResting, image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** The run's environment, calling `hook` once when it starts waiting for `what`. */
function onWaiting(h: Harness, what: string, hook: () => void): PipelineEnv {
  let done = false;
  return {
    ...h.env,
    progress: {
      ...h.env.progress,
      waiting(w) {
        h.env.progress.waiting(w);
        if (!done && w.startsWith(what)) {
          done = true;
          hook();
        }
      },
    },
  };
}

describe("promote", () => {
  it("a failure to remove the canary header routing after promotion is a warning: the release stands, stable is not restored", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const harness = h;
    await canary(harness.env, { tag: "2.0.0", weight: 100 });
    // Once traffic is back on the promoted stable, every Ingress patch fails (the header routing cannot be removed).
    const env = onWaiting(harness, "smoke tests through the public URL", () =>
      harness.sim.faults.add({ verb: "patch", resource: "ingresses", fault: { type: "status", code: 500 } }),
    );
    const record = await promote(env, { tag: "2.0.0" });
    expect(record.outcome).toBe("succeeded");
    expect(record.steps.map((s) => [s.name, s.result])).toEqual([["promote", "passed"]]);
    expect(harness.log).toContainEqual(
      expect.stringMatching(/^warn could not remove the canary header routing: .*the release itself is complete/),
    );
    harness.sim.faults.clear();
    // Stable went to the new version once, and was never put back.
    expect(stableTemplateImages(harness.events, "qualisys-api")).toEqual([image("qualisys-api", OLD), pinned("qualisys-api", "2.0.0")]);
    await expectResting(harness, "2.0.0", "succeeded", ["qualisys-api"]);
    expectInvariants(harness);
  });

  it("an in-flight state that cannot be cleared after a promotion still leaves the record (history and Events); the next run clears it", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    await canary(h.env, { tag: "2.0.0", weight: 100 });
    // Deleting the state ConfigMap fails (retried, then given up); everything else works.
    h.sim.faults.add({ verb: "delete", resource: "configmaps", fault: { type: "status", code: 500 } });
    const record = await promote(h.env, { tag: "2.0.0" });
    expect(record.outcome).toBe("succeeded");
    expect(h.log).toContainEqual(
      expect.stringMatching(
        /^warn could not clear the in-flight state .*the record is stored, and the next release-gate command clears it/,
      ),
    );
    const history = await readHistory(h.env.kube, NS);
    expect(history.map((r) => [r.command, r.tag, r.outcome])).toEqual([
      ["promote", "2.0.0", "succeeded"],
      ["canary", "2.0.0", "succeeded"],
    ]);
    const events = h.sim.store.list("/v1/events", NS).items as unknown as Array<{ involvedObject: { name: string }; reason: string }>;
    expect(events.some((e) => e.involvedObject.name === "qualisys-api-stable" && e.reason === "ReleaseSucceeded")).toBe(true);
    // The state says the release finished: nothing is left to repair, only to clear.
    const left = await inspectInFlight(h.env.kube, NS);
    expect(left.kind === "ok" && left.state.step).toEqual({ kind: "done", outcome: "succeeded" });
    const status = await readStatus(h.env);
    expect(status.inFlight?.summary).toMatch(
      /^release 2\.0\.0 finished \(succeeded, .*left behind; the next release-gate command clears it$/,
    );
    expect(status.inFlight?.options).toEqual([]);
    h.sim.faults.clear();
    const again = await deploy(h.env, { tag: "2.0.0" });
    expect(again.outcome).toBe("no-change");
    expect(h.log).toContainEqual(
      expect.stringMatching(/^info release 2\.0\.0 finished \(succeeded\) but its run did not clear its in-flight state/),
    );
    // The promote record is kept once (stored again by id), under the no-change one.
    expect((await readHistory(h.env.kube, NS)).map((r) => r.command)).toEqual(["deploy", "promote", "canary"]);
    await expectResting(h, "2.0.0", "no-change", ["qualisys-api"]);
  });
});
