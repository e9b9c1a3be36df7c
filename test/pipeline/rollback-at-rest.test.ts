/**
 * `rollback` with nothing in flight (issue 10, as rollback's body): production already at rest is left alone and
 * said so, through the real bin, instead of a "rolled back" that changed nothing; production not at rest without a
 * record is still returned to rest, and says why.
 */
import { afterEach, describe, expect, it } from "vitest";
import { bin } from "../support/bin.ts";
import { deployment, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("rollback with nothing in flight", () => {
  it("production at rest: nothing is changed, and the record says nothing was in flight and where production stands", async () => {
    h = await startHarness({});
    const before = h.events.length;
    const r = await bin(h, ["rollback"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^## release-gate rollback `\(none in flight\)` to production: ➖ no change/);
    expect(r.stdout).toMatch(
      new RegExp(
        /\*\*Production now:\*\* nothing was in flight and production was already at rest: nothing was changed\. /.source +
          /All traffic on stable running \S+qualisys-api:1\.0\.0 \(4\/4 available\)/.source,
      ),
    );
    expect(r.stdout).not.toMatch(/rolled back/);
    expect(h.events.slice(before).filter((e) => e.event.typeKey !== "/v1/pods")).toEqual([]);
    await expectResting(h, OLD, "no-change");
  }, 60_000);

  it("a canary scaled by hand with no release recorded: returned to rest, and the reason says so", async () => {
    h = await startHarness({});
    const scaled = await h.kubectl.run(["scale", "deployment/qualisys-web-canary", "--replicas=1", "-n", NS]);
    expect(scaled.exitCode, scaled.stderr).toBe(0);
    const r = await bin(h, ["rollback"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/↩️ rolled back/);
    expect(r.stdout).toMatch(/nothing was recorded in flight, but production was not at rest \(qualisys-web-canary has 1 replicas\)/);
    expect(deployment(h.sim, "qualisys-web-canary").spec.replicas).toBe(0);
    await expectResting(h, OLD, "rolled-back");
  }, 60_000);
});
