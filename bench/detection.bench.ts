/**
 * Detection: how long after a canary goes bad during an observation window the release notices, for every failure
 * kind the simulator can produce, with the shipped release.yaml's detection settings (smoke.probeInterval,
 * health.notReadyGrace, health.maxRestarts, smoke.timeout) and, side by side in the same run, with the settings it
 * shipped before (15 s probes, 10 s grace). Each run releases to the simulator with a long first window, injects the
 * failure into the running canary at a random point of the probe cycle, and reads from the release record when the
 * failing signal was first seen and when it failed the step (issue 10: detection within 5 s); the rollback's
 * weight 0 is the record's own timing.
 *
 * Latencies are measured from the moment the simulator was told to fail (its pods and app change at once; on a real
 * cluster the kubelet's readiness probe adds its own period before a pod shows not Ready).
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import type { Scenario, ScenarioInput } from "../test/sim/index.ts";
import { whenObserving } from "../test/support/observing.ts";
import { startHarness } from "../test/support/pipeline-harness.ts";
import { medianOf, type BenchResult } from "./lib.ts";

const RUNS = 5;
const shipped = parse(readFileSync("kubernetes/production/release.yaml", "utf8")) as {
  smoke: Record<string, unknown>;
  health: Record<string, unknown>;
};
const SETTINGS = {
  shipped: { smoke: shipped.smoke, health: shipped.health },
  before: { smoke: { ...shipped.smoke, probeInterval: "15s" }, health: { ...shipped.health, notReadyGrace: "10s" } },
} as const;

/** How the canary's image (tag det-N) goes bad. */
const KINDS: Record<string, (tag: string) => (s: Scenario) => ScenarioInput> = {
  "crash (the process exits, then crash-loops)": (tag) => (s) => ({
    ...s,
    images: [{ tag, pod: { kind: "readyThenFail", readyAfterSeconds: 0, failAfterSeconds: 0, failMode: "crash" } }],
  }),
  "not Ready (readiness fails, process up)": (tag) => (s) => ({
    ...s,
    images: [{ tag, pod: { kind: "readyThenFail", readyAfterSeconds: 0, failAfterSeconds: 0, failMode: "notReady" } }],
  }),
  "HTTP 500 on every request": (tag) => (s) => ({ ...s, images: [{ tag, app: { failures: [{ status: 500 }] } }] }),
  "HTTP 500 on /api/** only": (tag) => (s) => ({ ...s, images: [{ tag, app: { failures: [{ paths: ["/api/**"], status: 500 }] } }] }),
  "wrong answers (200 with a broken body)": (tag) => (s) => ({
    ...s,
    images: [{ tag, app: { failures: [{ status: 200, body: "maintenance" }] } }],
  }),
  "HTTP 500 on 20 % of requests": (tag) => (s) => ({ ...s, images: [{ tag, app: { failures: [{ status: 500, fraction: 0.2 }] } }] }),
  "answers slower than smoke.timeout (6 s)": (tag) => (s) => ({ ...s, images: [{ tag, app: { failures: [{ latencyMs: 6_000 }] } }] }),
};
/** The kinds the old settings are measured for too (the ones the settings decide). */
const COMPARED = new Set(["not Ready (readiness fails, process up)", "HTTP 500 on every request"]);

interface Detected {
  seenMs: number;
  detectedMs: number;
  weightZeroMs: number | undefined;
  signal: string;
}

let counter = 0;

/** One release whose canary goes bad during the 10 % window; undefined when the window did not catch it. */
async function once(kind: string, settings: keyof typeof SETTINGS): Promise<Detected | undefined> {
  const tag = `det-${++counter}`;
  const { smoke, health } = SETTINGS[settings];
  const h = await startHarness({
    config: (d) => {
      d.phases = [
        { weight: 10, observe: "40s" },
        { weight: 50, observe: "200ms" },
        { weight: 100, observe: "200ms" },
      ];
      d.smoke = smoke;
      d.health = health;
    },
  });
  try {
    const probeMs = Number.parseFloat(String(smoke.probeInterval)) * 1000;
    let injectedAt = 0;
    // Somewhere in the probe cycle: 1 s into the window, plus up to one probe interval.
    const env = whenObserving(h, 10, () =>
      setTimeout(
        () => {
          h.sim.updateScenario(KINDS[kind]!(tag));
          injectedAt = Date.now();
        },
        1_000 + Math.random() * probeMs,
      ),
    );
    const outcome = await deploy(env, { tag }).then(
      (r) => ({ record: r, failed: false }),
      (e: unknown) => ({ record: (e as { record?: ReleaseRecord }).record, failed: true }),
    );
    if (!outcome.failed) return undefined;
    const rec = outcome.record!;
    const d = rec.steps.find((s) => s.name === "canary 10%")?.detection;
    // Missed by the window (caught later, by a later phase's checks): not a detection in the window.
    if (!d || injectedAt <= 0) return undefined;
    return {
      seenMs: Date.parse(d.firstSeenAt) - injectedAt,
      detectedMs: Date.parse(d.detectedAt) - injectedAt,
      weightZeroMs: rec.rollbackTimings?.weightZeroMs,
      signal: d.signal,
    };
  } finally {
    await h.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const summary: string[][] = [];
  for (const kind of Object.keys(KINDS)) {
    for (const settings of ["shipped", "before"] as const) {
      if (settings === "before" && !COMPARED.has(kind)) continue;
      const runs: Array<Detected | undefined> = [];
      for (let i = 0; i < RUNS; i++) runs.push(await once(kind, settings));
      const found = runs.filter((r): r is Detected => r !== undefined);
      const label = `${kind}, ${settings === "shipped" ? "shipped release.yaml" : "before (15 s probes, 10 s grace)"}`;
      if (!found.length) {
        results.push({ name: `${label}: not caught by the window in any run`, medianMs: Number.NaN, runs: RUNS });
        continue;
      }
      const detected = found.map((r) => r.detectedMs);
      const max = Math.max(...detected);
      results.push({
        name: `${label}: injected → failing signal detected (record's detectedAt)`,
        medianMs: medianOf(detected),
        runs: found.length,
        note:
          `max ${(max / 1000).toFixed(1)} s${max <= 5_000 ? " (≤ 5 s)" : " (OVER 5 s)"}; ` +
          `first seen median ${(medianOf(found.map((r) => r.seenMs)) / 1000).toFixed(1)} s; ` +
          `by ${[...new Set(found.map((r) => r.signal))].join(", ")}` +
          `${found.length < RUNS ? `; ${RUNS - found.length} of ${RUNS} not caught by the window` : ""}` +
          `; weight 0 ${medianOf(found.map((r) => r.weightZeroMs ?? Number.NaN)).toFixed(0)} ms after`,
      });
      summary.push([label, ...detected.map((ms) => (ms / 1000).toFixed(1))]);
    }
  }
  console.log(`DETECTION (s from injection, each run)\n${summary.map((r) => `  ${r[0]}: ${r.slice(1).join(", ")}`).join("\n")}\n`);
  return results;
}
