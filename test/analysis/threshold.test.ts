import { describe, expect, it } from "vitest";
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
});
