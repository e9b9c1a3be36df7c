/**
 * Automatic rollback: every failure before promotion ends with weight 0 verified and the canary at 0, stable
 * never touched (I2); a failure after promotion started restores stable's previous template before traffic
 * returns to it (I3); every run ends at rest with a record (I4).
 */
import { afterEach, describe, expect, it } from "vitest";
import { FailedError } from "#src/errors.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { OLD, startHarness, type Harness, type HarnessOptions } from "../support/pipeline-harness.ts";
import { maxWeight, stableTemplateImages } from "../support/invariants.ts";
import { expectInvariants, expectResting, image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function failedDeploy(tag: string): Promise<FailedError> {
  const err = await deploy(h!.env, { tag }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FailedError);
  return err as FailedError;
}

/** I2: stable's template only ever had the old image. */
function expectStableUntouched(): void {
  for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h!.events, svc)).toEqual([image(svc, OLD)]);
}

const before = (o: HarnessOptions) => startHarness(o);

describe("failure before promotion rolls back with stable untouched (I2)", () => {
  it("canary in CrashLoopBackOff at 10 %: detected while waiting for Available, no user traffic ever reached it", async () => {
    h = await before({ scenario: { images: [{ tag: "bad-*", pod: { kind: "crashLoop", crashAfterSeconds: 1 } }] } });
    const err = await failedDeploy("bad-crash");
    expect(err.message).toMatch(/canary 10%.*CrashLoopBackOff|canary 10%.*restart/);
    expect(err.message).toContain("Production now: all traffic on stable");
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.rollbackReason).toMatch(/^canary 10%/);
    expect(maxWeight(h.events, "ingress-nginx")).toBe(0);
    expectStableUntouched();
    expectInvariants(h);
  });

  it("canary in ImagePullBackOff: refused traffic and rolled back", async () => {
    h = await before({ scenario: { images: [{ tag: "missing-*", pod: { kind: "imagePullBackOff" } }] } });
    const err = await failedDeploy("missing-1");
    expect(err.message).toMatch(/ImagePullBackOff|ErrImagePull/);
    await expectResting(h, OLD, "rolled-back");
    expect(maxWeight(h.events, "ingress-nginx")).toBe(0);
    expectStableUntouched();
  });

  it("canary never Ready: our own deadline fails it, not Kubernetes' 600 s", async () => {
    h = await before({
      scenario: { images: [{ tag: "stuck-*", pod: { kind: "neverReady" } }] },
      config: (d) => (d.deadlines.canaryAvailable = "1500ms"),
    });
    const err = await failedDeploy("stuck-1");
    expect(err.message).toMatch(/canary 10%/);
    await expectResting(h, OLD, "rolled-back");
    expect(maxWeight(h.events, "ingress-nginx")).toBe(0);
    expectStableUntouched();
  });

  it("smoke failure at 10 %: the direct canary test fails before any user traffic", async () => {
    h = await before({ scenario: { images: [{ tag: "broken-*", app: { failures: [{ status: 500, paths: ["/api/health"] }] } }] } });
    const err = await failedDeploy("broken-1");
    expect(err.message).toMatch(/canary 10%: smoke tests failed: .*canary directly/);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps[0].smoke.some((s) => s.canary && !s.ok)).toBe(true);
    expect(maxWeight(h.events, "ingress-nginx")).toBe(0);
    expectStableUntouched();
    expectInvariants(h);
  });

  it("smoke failure at 50 %: public smoke or a probe fails, weight back to 0 verified, canary to 0", async () => {
    h = await before({ config: (d) => (d.phases[1].observe = "1s") });
    h.onStep("canary 50%", () =>
      h!.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.2.0", app: { failures: [{ status: 500 }] } }] })),
    );
    const err = await failedDeploy("1.2.0");
    expect(err.message).toMatch(/canary 50%: .*(smoke tests failed|observed)/);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps.map((s) => s.result)).toEqual(["passed", "failed", "passed"]);
    expect(rec.steps.at(-1)?.detail).toMatch(/weight 0 after \d+ ms/);
    expect(maxWeight(h.events, "ingress-nginx")).toBe(50);
    expectStableUntouched();
    expectInvariants(h);
  });

  it("smoke failure at 100 %: all traffic on the canary, rolled back to stable, stable untouched", async () => {
    h = await before({});
    h.onStep("canary 100%", () =>
      h!.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.3.0", app: { failures: [{ status: 503, paths: ["/login"] }] } }] })),
    );
    const err = await failedDeploy("1.3.0");
    expect(err.message).toMatch(/canary 100%/);
    await expectResting(h, OLD, "rolled-back");
    expect(maxWeight(h.events, "ingress-nginx")).toBe(100);
    expectStableUntouched();
    expectInvariants(h);
  });

  it("canary Ready then failing during the observation window: the health watch catches it", async () => {
    // Fails 2 s (200 simulated s) after Ready: well inside the 6 s window even on a loaded machine, and long
    // after the phase's smoke tests; smoke probes are spaced out so that only the health watch can catch it.
    h = await before({ router: "gateway-api", config: (d) => ((d.phases[0].observe = "6s"), (d.smoke.probeInterval = "10s")) });
    h.sim.updateScenario((s) => ({
      ...s,
      images: [{ tag: "flaky-*", pod: { kind: "readyThenFail", readyAfterSeconds: 1, failAfterSeconds: 200, failMode: "notReady" } }],
    }));
    const err = await failedDeploy("flaky-1");
    expect(err.message).toMatch(/canary 10%: canary health: /);
    await expectResting(h, OLD, "rolled-back");
    expectStableUntouched();
    expectInvariants(h);
  });
});

describe("failure after promotion started restores stable (I3)", () => {
  it("stable's new pods crash: its previous revision is restored and rolled out before traffic returns to it", async () => {
    h = await before({ config: (d) => (d.deadlines.stableRollout = "2s") });
    h.onStep("promote", () =>
      h!.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.4.0", pod: { kind: "crashLoop", crashAfterSeconds: 1 } }] })),
    );
    const err = await failedDeploy("1.4.0");
    expect(err.message).toMatch(/failed at promote: stable rollout failed/);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps.at(-1)?.detail).toMatch(/previous revision restored/);
    // Promoted to the digest the canary ran, then back to its own previous ReplicaSet's template.
    for (const svc of ["qualisys-api", "qualisys-web"])
      expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD), pinned(svc, "1.4.0"), image(svc, OLD)]);
    expectInvariants(h);
  });

  it("cancelled (SIGTERM) while stable rolls out: stable's previous revision restored, then traffic back to it", async () => {
    h = await before({ scenario: { images: [{ tag: "1.7.0", pod: { kind: "ready", startSeconds: 30, readyAfterSeconds: 1 } }] } });
    const cancel = new AbortController();
    h.onStep("promote", () => setTimeout(() => cancel.abort(new Error("SIGTERM received (run cancelled)")), 300));
    const err = (await deploy(h.env, { tag: "1.7.0", signal: cancel.signal }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(FailedError);
    expect(err.message).toMatch(/failed at promote: .*cancelled: SIGTERM received/);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps.map((s) => [s.name, s.result])).toEqual([
      ["canary 10%", "passed"],
      ["canary 50%", "passed"],
      ["canary 100%", "passed"],
      ["promote", "interrupted"],
      ["rollback", "passed"],
    ]);
    for (const svc of ["qualisys-api", "qualisys-web"])
      expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD), pinned(svc, "1.7.0"), image(svc, OLD)]);
    expectInvariants(h);
  });

  it("stable rollout stalls past its progress deadline: ProgressDeadlineExceeded fails it, stable restored", async () => {
    h = await before({ config: (d) => (d.deadlines.stableRollout = "20s") });
    h.onStep("promote", () => h!.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.5.0", pod: { kind: "neverReady" } }] })));
    const err = await failedDeploy("1.5.0");
    expect(err.message).toMatch(/ProgressDeadlineExceeded/);
    await expectResting(h, OLD, "rolled-back");
    expectInvariants(h);
  }, 60_000);
});
