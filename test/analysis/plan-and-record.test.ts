/** What `plan` says and counts with metric analysis on, and how the evaluations read in the Markdown record. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { analysisOverrunMs, analysisPlanAction } from "#src/analysis/index.ts";
import { recordToMarkdown } from "#src/audit/markdown.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { parseReleaseConfig } from "#src/config/load.ts";
import { assertWithinBudget, planRelease, planToText } from "#src/pipeline/plan.ts";

function production(withAnalysis: boolean) {
  const doc = parse(readFileSync("kubernetes/production/release.yaml", "utf8")) as Record<string, unknown>;
  if (withAnalysis) doc.analysis = parse(readFileSync("kubernetes/production/analysis-examples/ingress-nginx.yaml", "utf8")).analysis;
  return parseReleaseConfig(stringify(doc));
}

const shipped = () => parse(readFileSync("kubernetes/production/analysis-examples/ingress-nginx.yaml", "utf8")).analysis;

describe("plan with metric analysis", () => {
  it("counts each window's evaluations and the failures that end a phase", () => {
    const config = production(true);
    expect(analysisPlanAction(config, 120_000, 0)).toBe(
      "metric analysis: 4 evaluation(s), every 30s, of error-rate (fails the phase at its 2nd failed evaluation; no data: fail), " +
        "latency-p99 (fails the phase at its 2nd failed evaluation; no data: fail); Prometheus unreachable after 1 retry fails the phase",
    );
    // 45 s: the last evaluation at 30 s; one failure allowed of one evaluation, so thresholds cannot fail that window.
    expect(analysisPlanAction(config, 45_000, 1)).toMatch(
      new RegExp(
        /^metric analysis: 1 evaluation\(s\), every 30s, of error-rate \(fails the phase at its 2nd failed evaluation, /.source +
          /more than this window has: it cannot fail here;/.source,
      ),
    );
    const text = planToText(planRelease(config), "x");
    expect(text).toContain("     - metric analysis: 4 evaluation(s), every 30s, of error-rate");
  });

  it("says what relative bounds compare with at 100 %, where stable gets no traffic", () => {
    const config = production(true);
    const at100 = config.phases.findIndex((p) => p.weight === 100);
    expect(analysisPlanAction(config, 30_000, at100)).toMatch(
      /fails the phase; stable gets no traffic at 100%: the relative bounds of error-rate, latency-p99 compare with stable's last value from canary 50%$/,
    );
    expect(analysisPlanAction(config, 120_000, 0)).toMatch(/fails the phase$/);
    // No earlier phase observed: nothing to compare with, and plan says the relative bounds are not evaluated.
    const direct = parseReleaseConfig(
      stringify({
        ...parse(readFileSync("kubernetes/production/release.yaml", "utf8")),
        analysis: shipped(),
        phases: [
          { weight: 50, observe: "0s" },
          { weight: 100, observe: "1m" },
        ],
      }),
    );
    expect(analysisPlanAction(direct, 60_000, 1)).toMatch(
      new RegExp(
        /stable gets no traffic at 100% and no earlier phase measures it: the relative bounds of error-rate, latency-p99 /.source +
          /are not evaluated here \(absolute bounds only, recorded as such\)$/.source,
      ),
    );
    expect(planToText(planRelease(config), "x")).toContain("compare with stable's last value from canary 50%");
  });

  it("adds the last evaluation's worst case to every observed phase, and the shipped example fits the production budget", () => {
    const without = planRelease(production(false));
    const withIt = planRelease(production(true));
    expect(analysisOverrunMs(production(true))).toBe(2 * 3000 + 500);
    expect(withIt.steps.map((s, i) => s.worstCaseMs - without.steps[i]!.worstCaseMs)).toEqual([6500, 6500, 6500, 0]);
    expect(() => assertWithinBudget(withIt)).not.toThrow();
  });
});

describe("metric analysis in the release record", () => {
  const record: ReleaseRecord = {
    id: "r",
    command: "deploy",
    namespace: "production",
    tag: "2.0.0",
    triggeredBy: "alice",
    startedAt: "2026-12-01T10:00:00.000Z",
    outcome: "rolled-back",
    services: [{ name: "qualisys-api", previousImage: "a:1", newImage: "a:2" }],
    steps: [
      {
        name: "canary 10%",
        weight: 10,
        startedAt: "2026-12-01T10:00:01.000Z",
        result: "failed",
        smoke: [],
        analysis: [
          { n: 1, at: "t1", checks: [{ check: "error-rate", service: "qualisys-api", canary: 0.004, stable: 0, result: "pass" }] },
          {
            n: 2,
            at: "t2",
            checks: [
              { check: "error-rate", service: "qualisys-api", canary: 0.052, stable: 0.001, result: "fail", reason: "0.052 > max 0.02" },
            ],
          },
          {
            n: 3,
            at: "t3",
            checks: [
              {
                check: "error-rate",
                service: "qualisys-api",
                canary: null,
                stable: "+Inf",
                result: "fail",
                noData: true,
                reason: "no data (canary: NaN); noData: fail",
              },
            ],
          },
        ],
      },
    ],
  };

  it("shows each check's values per evaluation, failed ones marked, with the last reason", () => {
    expect(recordToMarkdown(record)).toContain(
      [
        "**Metric analysis** (values at each evaluation, ✗ failed)",
        "",
        "| step | check | service | canary | stable | result |",
        "|---|---|---|---|---|---|",
        "| canary 10% | error-rate | qualisys-api | 0.004, ✗0.052, ✗– | 0, 0.001, +Inf | 2 of 3 failed: no data (canary: NaN); noData: fail |",
      ].join("\n"),
    );
  });

  it("says where stable's value came from at 100 %, and marks relative bounds that were not evaluated", () => {
    const at100 = (checks: ReleaseRecord["steps"][number]["analysis"]) => ({
      ...record,
      steps: [{ name: "canary 100%", weight: 100, startedAt: "t", result: "passed" as const, smoke: [], analysis: checks }],
    });
    const carried = { check: "latency-p99", service: "qualisys-api", canary: 0.2, stable: 0.15, stableFrom: "canary 50%" };
    expect(
      recordToMarkdown(
        at100([
          {
            n: 1,
            at: "t1",
            checks: [{ ...carried, result: "pass", reason: "stable's value from canary 50% (stable gets no traffic at this weight)" }],
          },
        ]),
      ),
    ).toContain(
      "| canary 100% | latency-p99 | qualisys-api | 0.2 | 0.15 | 1 passed (stable's value from canary 50%: stable gets no traffic at this weight) |",
    );
    const skipped =
      "absolute bounds only; maxAboveStable not evaluated: stable gets no traffic at 100% and no earlier phase of this release measured its value";
    expect(
      recordToMarkdown(
        at100([
          {
            n: 1,
            at: "t1",
            checks: [
              {
                check: "error-rate",
                service: "qualisys-api",
                canary: 0,
                stable: null,
                result: "pass",
                relativeNotEvaluated: true,
                reason: skipped,
              },
            ],
          },
        ]),
      ),
    ).toContain(`| canary 100% | error-rate | qualisys-api | 0 | – | 1 passed (1 with a warning): ${skipped} |`);
  });

  it("keeps the values in JSON as they are (numbers, +Inf, null)", () => {
    const back = JSON.parse(JSON.stringify(record)) as ReleaseRecord;
    expect(back.steps[0]!.analysis![2]!.checks[0]).toEqual(record.steps[0]!.analysis![2]!.checks[0]);
  });

  it("adds nothing when no step was analysed", () => {
    expect(recordToMarkdown({ ...record, steps: [{ ...record.steps[0]!, analysis: undefined }] })).not.toContain("Metric analysis");
  });
});
