/** The evaluation loop of one observation window, against a scripted Prometheus (values per evaluation). */
import { describe, expect, it } from "vitest";
import type { StableWithoutTraffic, Target } from "#src/analysis/evaluate.ts";
import { StableBaselines } from "#src/analysis/stable-baseline.ts";
import { PrometheusError, type PrometheusClient, type QueryValue } from "#src/analysis/prometheus-client.ts";
import type { AnalysisEvaluation } from "#src/analysis/record.ts";
import { AnalysisFailure, analyseWindow, schedule } from "#src/analysis/window.ts";

type Answer = number | "none" | PrometheusError;

/** A client whose n-th call for a query answers script[query][n] (the last one repeats). */
function scripted(script: Record<string, Answer[]>): PrometheusClient {
  const calls = new Map<string, number>();
  return {
    async query(promql: string): Promise<QueryValue> {
      const n = calls.get(promql) ?? 0;
      calls.set(promql, n + 1);
      const answers = script[promql]!;
      const a = answers[Math.min(n, answers.length - 1)]!;
      if (a instanceof PrometheusError) throw a;
      return a === "none" ? { kind: "no-data", why: "no series" } : { kind: "value", value: a };
    },
  } as unknown as PrometheusClient;
}

function target(o: Partial<Target["check"]> = {}, stable = false): Target {
  return {
    check: { name: "error-rate", query: "q", threshold: { max: 0.01 }, allowedFailures: 1, noData: "fail", ...o },
    service: "api",
    query: "canary",
    ...(stable ? { stableQuery: "stable" } : {}),
  };
}

async function run(
  client: PrometheusClient,
  targets: Target[],
  windowMs = 50,
  signal = new AbortController().signal,
  idle?: StableWithoutTraffic,
) {
  const evaluations: AnalysisEvaluation[] = [];
  const warnings: string[] = [];
  const result = await analyseWindow({
    client,
    targets,
    windowMs,
    intervalMs: 10,
    signal,
    onEvaluation: (e) => evaluations.push(e),
    log: { info: () => {}, warn: (m) => warnings.push(m) },
    ...(idle ? { idle } : {}),
  }).then(
    (n) => ({ ok: n }),
    (err: unknown) => ({ err }),
  );
  return { result, evaluations, warnings };
}

describe("an observation window's evaluations", () => {
  it("are spread over the window, the last at its end, at least one", () => {
    expect(schedule(120_000, 30_000)).toEqual({ count: 4, everyMs: 30_000 });
    expect(schedule(100_000, 30_000)).toEqual({ count: 3, everyMs: 30_000 });
    expect(schedule(400, 30_000)).toEqual({ count: 1, everyMs: 400 });
    expect(schedule(0, 30_000)).toEqual({ count: 0, everyMs: 0 });
  });

  it("pass when every value is within bounds, each evaluation recorded with both values", async () => {
    const { result, evaluations } = await run(scripted({ canary: [0.001], stable: [0.002] }), [
      target({ threshold: { maxAboveStable: 0.01 } }, true),
    ]);
    expect(result).toEqual({ ok: 5 });
    expect(evaluations.map((e) => e.n)).toEqual([1, 2, 3, 4, 5]);
    expect(evaluations[0]!.checks).toEqual([{ check: "error-rate", service: "api", canary: 0.001, stable: 0.002, result: "pass" }]);
  });

  it("tolerate allowedFailures failed evaluations and fail the phase at the next one", async () => {
    const { result, evaluations } = await run(scripted({ canary: [0.001, 0.05, 0.001, 0.06, 0.001] }), [target()]);
    expect((result as { err: Error }).err).toBeInstanceOf(AnalysisFailure);
    expect((result as { err: Error }).err.message).toBe(
      'check "error-rate" failed for api at evaluation 4 of 5: 0.06 > max 0.01 (2 failed evaluation(s), 1 allowed)',
    );
    expect(evaluations).toHaveLength(4);
  });

  it("count each service's failures apart", async () => {
    const a = target();
    const b = { ...target(), service: "web", query: "web" };
    const { result } = await run(scripted({ canary: [0.05, 0.001], web: [0.001, 0.05, 0.001] }), [a, b]);
    expect(result).toEqual({ ok: 5 });
  });

  it("judge no data by the check's rule: noData fail uses the budget, warn passes with a warning", async () => {
    const failing = await run(scripted({ canary: ["none"] }), [target()]);
    expect((failing.result as { err: Error }).err.message).toMatch(/evaluation 2 of 5: no data \(canary: no series\); noData: fail/);
    const warned = await run(scripted({ canary: ["none"] }), [target({ noData: "warn" })]);
    expect(warned.result).toEqual({ ok: 5 });
    expect(warned.warnings).toHaveLength(5);
    expect(warned.evaluations[0]!.checks[0]).toMatchObject({ result: "pass", noData: true, canary: null });
  });

  it("fail at once when Prometheus cannot answer: an unjudged canary never passes", async () => {
    const down = new PrometheusError("unavailable", "http://prom/api/v1/query: connection failed (ECONNREFUSED) after 3 attempt(s)");
    const { result, evaluations } = await run(scripted({ canary: [0.001, down] }), [target({ allowedFailures: 5 })]);
    expect((result as { err: Error }).err.message).toBe(
      'check "error-rate" for api at evaluation 2 of 5: Prometheus could not answer the query: ' +
        "http://prom/api/v1/query: connection failed (ECONNREFUSED) after 3 attempt(s); a canary that cannot be judged does not pass",
    );
    expect(evaluations[1]!.checks[0]).toMatchObject({ result: "error", canary: null });
  });

  it("stop without a verdict when the phase stops for another reason", async () => {
    const stop = new AbortController();
    const slow = { query: () => new Promise<QueryValue>(() => stop.abort()) } as unknown as PrometheusClient;
    const { result, evaluations } = await run(slow, [target()], 50, stop.signal);
    expect(result).toEqual({ ok: 0 });
    expect(evaluations).toEqual([]);
  });

  it("where stable gets no traffic, never runs its query: stable's earlier value, or absolute bounds only with a warning", async () => {
    const relative = target({ threshold: { max: 0.02, maxAboveStable: 0.01 } }, true);
    // The script has no answer for "stable": asking it would throw and fail the window.
    const client = scripted({ canary: [0.005] });
    const earlier = new StableBaselines([
      {
        name: "canary 50%",
        weight: 50,
        analysis: [{ n: 1, at: "t", checks: [{ check: "error-rate", service: "api", canary: 0, stable: 0.001, result: "pass" }] }],
      },
    ]);
    const carried = await run(client, [relative], 20, undefined, { weight: 100, baselines: earlier });
    expect(carried.result).toEqual({ ok: 2 });
    expect(carried.evaluations[0]!.checks[0]).toMatchObject({ stable: 0.001, stableFrom: "canary 50%", result: "pass" });
    expect(carried.warnings).toEqual([]);
    const none = await run(client, [relative], 20, undefined, { weight: 100, baselines: new StableBaselines([]) });
    expect(none.result).toEqual({ ok: 2 });
    expect(none.evaluations[0]!.checks[0]).toMatchObject({ stable: null, result: "pass", relativeNotEvaluated: true });
    expect(none.warnings[0]).toMatch(
      /^metric analysis: error-rate for api: absolute bounds only; maxAboveStable not evaluated: stable gets no traffic at 100%/,
    );
    // A bad canary is still caught by the absolute bound.
    const bad = await run(scripted({ canary: [0.05] }), [relative], 20, undefined, { weight: 100, baselines: new StableBaselines([]) });
    expect((bad.result as { err: Error }).err).toBeInstanceOf(AnalysisFailure);
  });
});
