/**
 * Judging one check's values against its threshold: absolute bounds on the canary's value, or bounds relative
 * to stable's value measured at the same moment. No data (an empty result or NaN) is judged by the check's own
 * rule: a failed evaluation, or a pass with a warning. Where stable serves no traffic by design (weight 100),
 * its rates are 0/0, which is not stable failing: relative bounds then use stable's value measured earlier in the
 * release, or, with none, are not evaluated (and the judgement says so). Pure.
 */
import type { ReleaseConfig } from "../config/schema.ts";
import type { QueryValue } from "./prometheus-client.ts";

export type Check = NonNullable<ReleaseConfig["analysis"]>["checks"][number];
export type Threshold = Check["threshold"];

/** Stable's value measured in an earlier step of this release ("canary 50%"), standing in while stable serves nothing. */
export interface EarlierStable {
  kind: "earlier";
  value: number;
  from: string;
}

/** Stable serves no traffic by design and no earlier step measured it: relative bounds cannot be evaluated. */
export interface IdleStable {
  kind: "idle";
  why: string;
}

/** What a check's stable side is judged with: measured now, carried from earlier, or nothing to compare with. */
export type StableValue = QueryValue | EarlierStable | IdleStable;

export interface Judgement {
  result: "pass" | "fail";
  /** The verdict came from the no-data rule. */
  noData?: true;
  /** The relative bounds were not evaluated (stable served no traffic and nothing earlier measured it). */
  relativeNotEvaluated?: true;
  /** Why it failed, the warning it passed with, or where stable's value came from. */
  reason?: string;
}

const RELATIVE: Array<keyof Threshold> = ["maxAboveStable", "maxBelowStable", "maxRatioToStable"];

export const isRelative = (t: Threshold): boolean => RELATIVE.some((k) => t[k] !== undefined);

/** Numbers in messages: enough digits to tell 0.0102 from 0.01, none of float noise. */
export const fmt = (n: number): string => (Number.isFinite(n) ? String(Number(n.toPrecision(4))) : String(n));

/** The bounds the canary's value broke, in words ("0.052 > max 0.01"); empty when none. */
export function violations(t: Threshold, canary: number, stable?: number): string[] {
  const out: string[] = [];
  if (t.max !== undefined && !(canary <= t.max)) out.push(`${fmt(canary)} > max ${fmt(t.max)}`);
  if (t.min !== undefined && !(canary >= t.min)) out.push(`${fmt(canary)} < min ${fmt(t.min)}`);
  if (stable !== undefined) {
    if (t.maxAboveStable !== undefined && !(canary <= stable + t.maxAboveStable))
      out.push(`${fmt(canary)} > stable ${fmt(stable)} + ${fmt(t.maxAboveStable)}`);
    if (t.maxBelowStable !== undefined && !(canary >= stable - t.maxBelowStable))
      out.push(`${fmt(canary)} < stable ${fmt(stable)} − ${fmt(t.maxBelowStable)}`);
    if (t.maxRatioToStable !== undefined && !(canary <= stable * t.maxRatioToStable))
      out.push(`${fmt(canary)} > stable ${fmt(stable)} × ${fmt(t.maxRatioToStable)}`);
  }
  return out;
}

const relativeBounds = (t: Threshold): string => RELATIVE.filter((k) => t[k] !== undefined).join(", ");

/** One evaluation of one check for one service. `stable` is undefined when the check has no stableQuery. */
export function judge(check: Pick<Check, "threshold" | "noData">, canary: QueryValue, stable?: StableValue): Judgement {
  const missing =
    canary.kind === "no-data"
      ? `canary: ${canary.why}`
      : isRelative(check.threshold) && stable?.kind === "no-data"
        ? `stable: ${stable.why} (needed for the relative threshold)`
        : undefined;
  if (missing !== undefined) {
    return check.noData === "warn"
      ? { result: "pass", noData: true, reason: `no data (${missing}); passed with a warning (noData: warn)` }
      : { result: "fail", noData: true, reason: `no data (${missing}); noData: fail` };
  }
  const c = (canary as { value: number }).value;
  if (stable?.kind === "idle" && isRelative(check.threshold)) {
    // Never a failure for stable's absence, never a silent pass: the absolute bounds alone, and the record says so.
    const skipped = `${relativeBounds(check.threshold)} not evaluated: ${stable.why}`;
    const broken = violations(check.threshold, c);
    return broken.length
      ? { result: "fail", relativeNotEvaluated: true, reason: `${broken.join("; ")}; ${skipped}` }
      : { result: "pass", relativeNotEvaluated: true, reason: `absolute bounds only; ${skipped}` };
  }
  const s = stable?.kind === "value" || stable?.kind === "earlier" ? stable.value : undefined;
  const broken = violations(check.threshold, c, s);
  const from =
    stable?.kind === "earlier" && isRelative(check.threshold)
      ? `stable's value from ${stable.from} (stable gets no traffic at this weight)`
      : undefined;
  if (broken.length) return { result: "fail", reason: [...broken, ...(from ? [from] : [])].join("; ") };
  return from ? { result: "pass", reason: from } : { result: "pass" };
}
