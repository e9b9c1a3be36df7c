/**
 * Judging one check's values against its threshold: absolute bounds on the canary's value, or bounds relative
 * to stable's value measured at the same moment. No data (an empty result or NaN) is judged by the check's own
 * rule: a failed evaluation, or a pass with a warning. Pure.
 */
import type { ReleaseConfig } from "../config/schema.ts";
import type { QueryValue } from "./prometheus-client.ts";

export type Check = NonNullable<ReleaseConfig["analysis"]>["checks"][number];
export type Threshold = Check["threshold"];

export interface Judgement {
  result: "pass" | "fail";
  /** The verdict came from the no-data rule. */
  noData?: true;
  /** Why it failed, or the warning it passed with. */
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

/** One evaluation of one check for one service. `stable` is undefined when the check has no stableQuery. */
export function judge(check: Pick<Check, "threshold" | "noData">, canary: QueryValue, stable?: QueryValue): Judgement {
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
  const s = stable?.kind === "value" ? stable.value : undefined;
  const broken = violations(check.threshold, c, s);
  return broken.length ? { result: "fail", reason: broken.join("; ") } : { result: "pass" };
}
