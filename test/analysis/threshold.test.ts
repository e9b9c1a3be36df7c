import { describe, expect, it } from "vitest";
import { StableBaselines, stableServes } from "#src/analysis/stable-baseline.ts";
import { judge, violations } from "#src/analysis/threshold.ts";

const v = (value: number) => ({ kind: "value" as const, value });
const none = { kind: "no-data" as const, why: "no series" };

describe("thresholds", () => {
  it("absolute bounds judge the canary's value alone", () => {
    const check = { threshold: { max: 0.01 }, noData: "fail" as const };
    expect(judge(check, v(0.01))).toEqual({ result: "pass" });
    expect(judge(check, v(0.0101))).toEqual({ result: "fail", reason: "0.0101 > max 0.01" });
    expect(judge({ threshold: { min: 0.99 }, noData: "fail" }, v(0.98))).toEqual({ result: "fail", reason: "0.98 < min 0.99" });
  });

  it("relative bounds compare with stable's value at the same moment", () => {
    const t = { maxAboveStable: 0.25, maxRatioToStable: 3, maxBelowStable: 0.01 };
    expect(violations(t, 0.3, 0.1)).toEqual([]);
    expect(violations(t, 0.36, 0.1)).toEqual(["0.36 > stable 0.1 + 0.25", "0.36 > stable 0.1 × 3"]);
    expect(violations({ maxBelowStable: 0.01 }, 0.97, 0.99)).toEqual(["0.97 < stable 0.99 − 0.01"]);
    // Every bound must hold: the absolute one fails although the relative one passes.
    expect(judge({ threshold: { max: 2, maxAboveStable: 5 }, noData: "fail" }, v(3), v(1)).result).toBe("fail");
  });

  it("an infinite value breaks an upper bound (histogram_quantile of an all-+Inf bucket)", () => {
    expect(judge({ threshold: { max: 1 }, noData: "fail" }, v(Infinity))).toEqual({ result: "fail", reason: "Infinity > max 1" });
  });

  it("no data follows the check's rule: a failed evaluation, or a pass with a warning", () => {
    expect(judge({ threshold: { max: 1 }, noData: "fail" }, none)).toEqual({
      result: "fail",
      noData: true,
      reason: "no data (canary: no series); noData: fail",
    });
    expect(judge({ threshold: { max: 1 }, noData: "warn" }, none)).toEqual({
      result: "pass",
      noData: true,
      reason: "no data (canary: no series); passed with a warning (noData: warn)",
    });
  });

  it("stable without data matters only to a relative threshold", () => {
    expect(judge({ threshold: { max: 1 }, noData: "fail" }, v(0.5), none)).toEqual({ result: "pass" });
    expect(judge({ threshold: { maxAboveStable: 1 }, noData: "fail" }, v(0.5), none)).toMatchObject({
      result: "fail",
      noData: true,
      reason: expect.stringContaining("stable: no series (needed for the relative threshold)"),
    });
  });

  it("where stable gets no traffic (weight 100), relative bounds use stable's value from an earlier phase, and say so", () => {
    const latency = { threshold: { max: 2, maxAboveStable: 0.25 }, noData: "fail" as const };
    const earlier = { kind: "earlier" as const, value: 0.15, from: "canary 50%" };
    expect(judge(latency, v(0.2), earlier)).toEqual({
      result: "pass",
      reason: "stable's value from canary 50% (stable gets no traffic at this weight)",
    });
    // A bad canary still fails against that value: stable's absence does not let it through.
    expect(judge(latency, v(0.65), earlier)).toEqual({
      result: "fail",
      reason: "0.65 > stable 0.15 + 0.25; stable's value from canary 50% (stable gets no traffic at this weight)",
    });
    // An absolute-only check does not mention stable at all.
    expect(judge({ threshold: { max: 2 }, noData: "fail" }, v(0.2), earlier)).toEqual({ result: "pass" });
  });

  it("with no earlier value, only the absolute bounds are judged, and the judgement says the relative ones were not", () => {
    const errorRate = { threshold: { max: 0.02, maxAboveStable: 0.01 }, noData: "fail" as const };
    const idle = { kind: "idle" as const, why: "stable gets no traffic at 100% and no earlier phase of this release measured its value" };
    // Never a failure for stable's absence…
    expect(judge(errorRate, v(0.015), idle)).toEqual({
      result: "pass",
      relativeNotEvaluated: true,
      reason:
        "absolute bounds only; maxAboveStable not evaluated: stable gets no traffic at 100% and no earlier phase of this release measured its value",
    });
    // …and the absolute bounds still catch a bad canary.
    expect(judge(errorRate, v(0.05), idle)).toMatchObject({
      result: "fail",
      relativeNotEvaluated: true,
      reason: expect.stringMatching(/^0\.05 > max 0\.02; maxAboveStable not evaluated: /),
    });
    // A relative-only check has nothing left to judge: it passes, marked, never silently.
    expect(judge({ threshold: { maxRatioToStable: 2, maxBelowStable: 0.1 }, noData: "fail" }, v(9), idle)).toEqual({
      result: "pass",
      relativeNotEvaluated: true,
      reason: expect.stringContaining("maxBelowStable, maxRatioToStable not evaluated"),
    });
    // The canary's own missing data is still judged by the no-data rule.
    expect(judge(errorRate, none, idle)).toMatchObject({ result: "fail", noData: true });
  });
});

describe("stable's earlier values", () => {
  const step = (name: string, weight: number, stables: Array<number | null | "+Inf">, stableFrom?: string) => ({
    name,
    weight,
    analysis: stables.map((stable, i) => ({
      n: i + 1,
      at: "t",
      checks: [{ check: "latency", service: "api", canary: 0.1, stable, result: "pass" as const, ...(stableFrom ? { stableFrom } : {}) }],
    })),
  });

  it("only weight 100 leaves stable without traffic", () => {
    expect([10, 50, 99, 100].map(stableServes)).toEqual([true, true, true, false]);
  });

  it("takes the last value stable's own query measured in an earlier step, per check and service", () => {
    const b = new StableBaselines([
      step("canary 10%", 10, [0.1, 0.12]),
      step("canary 50%", 50, [0.14, null]),
      step("smoke", 100, [9], "x"),
    ]);
    expect(b.for("latency", "api", 100)).toEqual({ kind: "earlier", value: 0.14, from: "canary 50%" });
    expect(new StableBaselines([step("canary 50%", 50, ["+Inf"])]).for("latency", "api", 100)).toMatchObject({ value: Infinity });
    expect(b.for("latency", "web", 100)).toEqual({
      kind: "idle",
      why: "stable gets no traffic at 100% and no earlier phase of this release measured its value",
    });
    // A step at 100 (an interrupted one a resumed run redoes) carries no measurement of stable.
    expect(new StableBaselines([step("canary 100%", 100, [0.3])]).for("latency", "api", 100).kind).toBe("idle");
  });
});
