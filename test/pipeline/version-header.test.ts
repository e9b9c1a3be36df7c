/**
 * A canary whose app reports another version than the tag it was released as (issue 13, item 13), through the real
 * bin against the simulator: with the version header configured and answers carrying it, not one answer with the
 * canary's version is a failure (the canary cannot be told to be what answers), not an inconclusive split. An app
 * that sends no version at all still only gets a warning.
 */
import { afterEach, describe, expect, it } from "vitest";
import { bin } from "../support/bin.ts";
import { OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { stableTemplateImages } from "../support/invariants.ts";
import { expectInvariants, expectResting, image } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("13. the canary's app reports another version than its tag", () => {
  it("fails the first phase and rolls back, naming the version it reports", async () => {
    // 1.1.0's pods answer X-App-Version: 1.1.0-rc3 (a build stamped with another version than the tag pushed).
    h = await startHarness({ scenario: { images: [{ tag: "1.1.0", app: { version: "1.1.0-rc3" } }] } });
    const r = await bin(h, ["deploy", "--tag", "1.1.0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        /failed at canary 10%: qualisys-(api|web): no answer carried the canary's version 1\.1\.0 in X-App-Version /.source +
          /\(seen: HTTP 200 X-App-Version: 1\.1\.0-rc3\); the canary's app does not report the version it was released as/.source,
      ),
    );
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps.map((s) => [s.name, s.result])).toEqual([
      ["canary 10%", "failed"],
      ["rollback", "passed"],
    ]);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD)]);
    expectInvariants(h);
  }, 90_000);

  it("an app that sends no version at all is released with a warning, as before", async () => {
    h = await startHarness({
      services: ["qualisys-api"],
      config: (d) => (d.observedSplit.versionHeader = "X-Not-Sent"),
    });
    const r = await bin(h, ["deploy", "--tag", "1.1.0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/observed split inconclusive .*only 0 of \d+ responses carry a known version/);
    await expectResting(h, "1.1.0", "succeeded", ["qualisys-api"]);
  }, 90_000);
});
