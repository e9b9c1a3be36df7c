/** The table people read and the JSON machines read. */
import { describe, expect, it } from "vitest";
import { renderTable, toJSON, type SmokeReport } from "#src/smoke/index.ts";

const report: SmokeReport = {
  ok: false,
  url: "https://app.qualisys.io/",
  suite: "qualisys",
  canary: true,
  startedAt: "2026-11-26T10:00:00.000Z",
  durationMs: 412,
  checks: [
    { name: "health", ok: true, status: 200, latencyMs: 31, attempts: 1 },
    { name: "user-me", ok: false, status: 401, latencyMs: 40, reason: "expected HTTP 200, got 401", attempts: 1 },
    { name: "tls", ok: true, latencyMs: 12, attempts: 1 },
  ],
};

describe("renderTable", () => {
  it("lists check, result, HTTP status, latency and reason in aligned columns, then the verdict", () => {
    expect(renderTable(report)).toBe(
      [
        "CHECK    RESULT  HTTP  LATENCY  REASON",
        "health   pass    200   31 ms",
        "user-me  FAIL    401   40 ms    expected HTTP 200, got 401",
        "tls      pass    -     12 ms",
        "",
        "smoke qualisys against https://app.qualisys.io/ (canary): 1 of 3 checks FAILED in 412 ms",
        "",
      ].join("\n"),
    );
  });

  it("says all passed when they did", () => {
    const passed = { ...report, ok: true, canary: false, checks: [report.checks[0]] };
    expect(renderTable(passed)).toContain("smoke qualisys against https://app.qualisys.io/: all 1 check passed in 412 ms");
  });
});

describe("toJSON", () => {
  it("is the report itself, parseable", () => {
    expect(JSON.parse(toJSON(report))).toEqual(report);
  });
});
