import { afterEach, describe, expect, it } from "vitest";
import { deploy } from "../../.dagger/src/pipeline/release.ts";
import { OLD, startHarness, type Harness } from "./harness.ts";
import { maxWeight, stableTemplateImages } from "./invariants.ts";
import { expectInvariants, expectResting, image } from "./scenario-support.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each(["ingress-nginx", "gateway-api", "replicas"] as const)("happy path through %s", (router) => {
  it("moves both services together 10 → 50 → 100, promotes, and ends at rest on the new version", async () => {
    h = await startHarness({ router });
    const record = await deploy(h.env, { tag: "1.1.0" });
    expect(record.outcome).toBe("succeeded");
    expect(record.steps.map((s) => [s.name, s.result])).toEqual([
      ["canary 10%", "passed"],
      ["canary 50%", "passed"],
      ["canary 100%", "passed"],
      ["promote", "passed"],
    ]);
    await expectResting(h, "1.1.0", "succeeded");
    expectInvariants(h);
    // Both services were released by the one run, stable touched once (at promotion).
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD), image(svc, "1.1.0")]);
    expect(maxWeight(h.events, router)).toBeGreaterThanOrEqual(router === "replicas" ? 45 : 100);
    if (router !== "replicas") {
      expect(record.steps[0].smoke.some((s) => s.canary && s.ok)).toBe(true);
      expect(record.steps[0].observedSplit?.length).toBe(2);
    }
  });
});
