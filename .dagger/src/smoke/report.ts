/** Renders a SmokeReport for people (a table) and for machines (JSON). */
import type { SmokeReport } from "./types.ts";

/** A plain-text table: check, result, HTTP status, latency, reason; then a one-line verdict. */
export function renderTable(report: SmokeReport): string {
  const header = ["CHECK", "RESULT", "HTTP", "LATENCY", "REASON"];
  const rows = report.checks.map((c) => [
    c.name,
    c.ok ? "pass" : "FAIL",
    c.status === undefined ? "-" : String(c.status),
    `${c.latencyMs} ms`,
    c.reason ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const failed = report.checks.filter((c) => !c.ok).length;
  const target = `${report.url}${report.canary ? " (canary)" : ""}`;
  const verdict = report.ok
    ? `smoke ${report.suite} against ${target}: all ${report.checks.length} check${report.checks.length === 1 ? "" : "s"} passed in ${report.durationMs} ms`
    : `smoke ${report.suite} against ${target}: ${failed} of ${report.checks.length} checks FAILED in ${report.durationMs} ms`;
  return [line(header), ...rows.map(line), "", verdict].join("\n") + "\n";
}

/** The machine-readable document printed by --json (stable field names; see SmokeReport). */
export function toJSON(report: SmokeReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
