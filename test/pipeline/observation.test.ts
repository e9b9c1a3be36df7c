/**
 * What an observation window tells: the first failing signal kept in the step's record with when it was first seen
 * (so detection latency is read from the record), its progress in the in-flight state for `status --watch`, and
 * `canary --weight` observed like a deploy phase (issue 10). The heartbeat's own cadence is tested with a fake clock
 * on the ObservationLog; these scenarios run on the simulator.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { parseReleaseConfig } from "#src/config/load.ts";
import { FailedError } from "#src/errors.ts";
import type { Run } from "#src/pipeline/context.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { ObservationLog } from "#src/pipeline/observation.ts";
import { canary, observeMsFor } from "#src/pipeline/operator.ts";
import { whenObserving } from "../support/observing.ts";
import { NS, OLD, startHarness, type Harness, type HarnessOptions } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting } from "../support/scenario.ts";
import { readFileSync } from "node:fs";

let h: Harness | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await h?.stop();
  h = undefined;
});

async function failed(p: Promise<ReleaseRecord>): Promise<FailedError & { record?: ReleaseRecord }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FailedError);
  return err as FailedError & { record?: ReleaseRecord };
}

const start = (o: HarnessOptions) => startHarness(o);

describe("detection kept in the record", () => {
  it("a canary pod that stops being Ready: first seen, then failed once the grace ran out", async () => {
    // A long window with rare probes: only the health watch can catch it.
    h = await start({
      config: (d) => ((d.phases[0].observe = "20s"), (d.smoke.probeInterval = "30s"), (d.health.notReadyGrace = "500ms")),
    });
    const harness = h;
    const env = whenObserving(harness, 10, () =>
      harness.sim.updateScenario((s) => ({
        ...s,
        images: [{ tag: "1.5.0", pod: { kind: "readyThenFail", readyAfterSeconds: 0, failAfterSeconds: 0, failMode: "notReady" } }],
      })),
    );
    const err = await failed(deploy(env, { tag: "1.5.0" }));
    expect(err.message).toMatch(/canary 10%: canary health: .*not been Ready for over 500 ms/);
    const rec = await expectResting(harness, OLD, "rolled-back");
    const step = rec.steps.find((s) => s.name === "canary 10%")!;
    expect(step.detection).toMatchObject({ signal: "canary health", reason: "NotReady" });
    const seen = Date.parse(step.detection!.firstSeenAt);
    const detected = Date.parse(step.detection!.detectedAt);
    // The grace is honoured: the step failed no earlier than 500 ms after the pod was seen not Ready.
    expect(detected - seen).toBeGreaterThanOrEqual(500);
    expect(seen).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
    expectInvariants(harness);
  });

  it("an app answering 500 during the window: the smoke probe that saw it is the detection", async () => {
    h = await start({ config: (d) => (d.phases[0].observe = "20s") });
    const harness = h;
    const env = whenObserving(harness, 10, () =>
      harness.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.6.0", app: { failures: [{ status: 500 }] } }] })),
    );
    const err = await failed(deploy(env, { tag: "1.6.0" }));
    expect(err.message).toMatch(/canary 10%: smoke tests failed/);
    const rec = await expectResting(harness, OLD, "rolled-back");
    const step = rec.steps.find((s) => s.name === "canary 10%")!;
    expect(step.detection).toMatchObject({ signal: "smoke probe" });
    expect(step.detection!.reason).toMatch(/HTTP 500|500/);
    expect(Date.parse(step.detection!.detectedAt)).toBeGreaterThanOrEqual(Date.parse(step.detection!.firstSeenAt));
  });
});

describe("the window's progress in the in-flight state", () => {
  it("is written when the window opens: its weight, start and end", async () => {
    h = await start({ config: (d) => (d.phases[1].observe = "3s") });
    const harness = h;
    let seen: Promise<unknown> | undefined;
    const env = whenObserving(harness, 50, () => {
      seen = (async () => {
        for (;;) {
          const found = await inspectInFlight(harness.env.kube, NS);
          const o = found.kind === "ok" ? found.state.observation : undefined;
          if (o?.weight === 50) return { state: found.kind === "ok" ? found.state : undefined, o };
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    });
    await deploy(env, { tag: "1.1.0" });
    const { state, o } = (await seen) as { state: { step: unknown }; o: { startedAt: string; endsAt: string; probesPassed: number } };
    expect(state.step).toEqual({ kind: "canary", weight: 50 });
    expect(Date.parse(o.endsAt) - Date.parse(o.startedAt)).toBe(3000);
    expect(o.probesPassed).toBe(0);
  });
});

describe("canary --weight has deploy's safety", () => {
  it("takes the window of the phase it stands in for", () => {
    const config = parseReleaseConfig(readFileSync("kubernetes/production/release.yaml", "utf8"));
    expect([1, 10, 11, 50, 99, 100].map((w) => observeMsFor(config, w))).toEqual([120_000, 120_000, 45_000, 45_000, 30_000, 30_000]);
  });

  it("observes the canary at its weight: probes pass and are recorded, the release stays held", async () => {
    h = await start({ config: (d) => ((d.phases[1].observe = "1s"), (d.smoke.probeInterval = "200ms")) });
    const rec = await canary(h.env, { tag: "2.0.0", weight: 30 });
    const step = rec.steps.find((s) => s.name === "canary 30%")!;
    expect(step.detail).toMatch(/^observed 1s, \d+ smoke probe\(s\) passed/);
    expect(h.log.some((l) => l.startsWith("waiting observation window of 1s"))).toBe(true);
  });

  it("rolls back a canary that fails during its window", async () => {
    h = await start({ config: (d) => (d.phases[0].observe = "20s") });
    const harness = h;
    const env = whenObserving(harness, 10, () =>
      harness.sim.updateScenario((s) => ({ ...s, images: [{ tag: "2.1.0", app: { failures: [{ status: 500 }] } }] })),
    );
    const err = await failed(canary(env, { tag: "2.1.0", weight: 10 }));
    expect(err.message).toMatch(/canary 10%: smoke tests failed/);
    await expectResting(harness, OLD, "rolled-back");
    expectInvariants(harness);
  });
});

describe("ObservationLog (fake clock)", () => {
  it("writes the window's progress when it opens, then at most once per 10 s and only when it changed", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const writes: unknown[] = [];
    const run = {
      env: { progress: { warn: () => undefined } },
      journal: { observing: async (o: unknown) => void writes.push(o) },
      cluster: { deployment: () => ({ spec: { replicas: 1 }, status: { readyReplicas: 1 } }) },
    } as unknown as Run;
    (run as unknown as { journal: { state: unknown } }).journal.state = {
      services: [{ name: "api", canary: { deployment: "api-canary" } }],
    };
    const log = new ObservationLog(run, { weight: 10, windowMs: 60_000 });
    log.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([{ weight: 10, startedAt: "2026-01-01T00:00:00.000Z", endsAt: "2026-01-01T00:01:00.000Z", probesPassed: 0 }]);
    await vi.advanceTimersByTimeAsync(10_000); // nothing changed: no write
    expect(writes).toHaveLength(1);
    log.probePassed();
    log.probePassed();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(writes).toHaveLength(1); // not before the heartbeat
    await vi.advanceTimersByTimeAsync(6_000);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatchObject({ probesPassed: 2, lastProbe: { ok: true, at: "2026-01-01T00:00:10.000Z" } });
    expect(log.detail()).toBe("40s left · 2 probe(s) passed · canary pods Ready: api 1/1");
    await log.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(writes).toHaveLength(2);
  });
});
