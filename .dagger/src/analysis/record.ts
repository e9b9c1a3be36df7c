/**
 * What metric analysis leaves in the release record: each evaluation of an observation window with every
 * check's values per service (the step record's `analysis` field, in JSON as it is), and the same as a
 * Markdown table for the summary.
 */
import type { QueryValue } from "./prometheus-client.ts";
import { fmt } from "./threshold.ts";

/** A value as recorded: a number, "+Inf"/"-Inf" (JSON has no infinities), or null when there was none. */
export type RecordedValue = number | "+Inf" | "-Inf" | null;

export interface CheckEvaluation {
  check: string;
  service: string;
  canary: RecordedValue;
  /** Present when the check has a stableQuery. */
  stable?: RecordedValue;
  /**
   * Stable served no traffic in this step (weight 100): `stable` is its last value measured in this earlier step
   * ("canary 50%"), not a query of this evaluation.
   */
  stableFrom?: string;
  /** "error": Prometheus could not answer (the analysis then stops the phase). */
  result: "pass" | "fail" | "error";
  /** The verdict came from the check's no-data rule. */
  noData?: true;
  /** The relative bounds were not evaluated: stable served no traffic and no earlier step measured it (reason says so). */
  relativeNotEvaluated?: true;
  reason?: string;
}

/** A pass that needs a reader's attention: judged without data, or without its relative bounds. */
export const passedWithWarning = (c: CheckEvaluation): boolean =>
  c.result === "pass" && (c.noData === true || c.relativeNotEvaluated === true);

export interface AnalysisEvaluation {
  /** 1-based, within the observation window. */
  n: number;
  at: string;
  checks: CheckEvaluation[];
}

export function recorded(v: QueryValue | undefined): RecordedValue {
  if (!v || v.kind === "no-data") return null;
  if (v.value === Infinity) return "+Inf";
  if (v.value === -Infinity) return "-Inf";
  return v.value;
}

const show = (v: RecordedValue | undefined): string => (v === null || v === undefined ? "–" : typeof v === "number" ? fmt(v) : v);
const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * One row per step, check and service: the canary's (and stable's) value at each evaluation, failed ones marked
 * ✗, and the reason of the last failure. Empty when no step was analysed.
 */
export function analysisToMarkdown(steps: Array<{ name: string; analysis?: AnalysisEvaluation[] }>): string[] {
  const rows: string[] = [];
  for (const st of steps) {
    const byKey = new Map<string, CheckEvaluation[]>();
    for (const e of st.analysis ?? []) {
      for (const c of e.checks) {
        const key = `${c.check}\u0000${c.service}`;
        byKey.set(key, [...(byKey.get(key) ?? []), c]);
      }
    }
    for (const evals of byKey.values()) {
      const mark = (c: CheckEvaluation, v: RecordedValue | undefined) => `${c.result === "pass" ? "" : "✗"}${show(v)}`;
      const canary = evals.map((c) => mark(c, c.canary)).join(", ");
      const stable = evals.some((c) => "stable" in c) ? evals.map((c) => show(c.stable)).join(", ") : "—";
      const failed = evals.filter((c) => c.result !== "pass");
      const warned = evals.filter(passedWithWarning);
      const last = failed.at(-1) ?? warned.at(-1);
      const from = evals.find((c) => c.stableFrom)?.stableFrom;
      const verdict =
        (failed.length
          ? `${failed.length} of ${evals.length} failed`
          : `${evals.length} passed${warned.length ? ` (${warned.length} with a warning)` : ""}`) +
        (from && !last ? ` (stable's value from ${from}: stable gets no traffic at this weight)` : "");
      rows.push(
        `| ${cell(st.name)} | ${cell(evals[0]!.check)} | ${cell(evals[0]!.service)} | ` +
          `${canary} | ${stable} | ${cell(verdict)}${last?.reason ? `: ${cell(last.reason)}` : ""} |`,
      );
    }
  }
  if (!rows.length) return [];
  return [
    "",
    "**Metric analysis** (values at each evaluation, ✗ failed)",
    "",
    "| step | check | service | canary | stable | result |",
    "|---|---|---|---|---|---|",
    ...rows,
  ];
}
