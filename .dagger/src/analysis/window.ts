/**
 * Metric analysis during one observation window: evaluations every `interval` (the first one interval after the
 * window opens, so the canary's first requests can be scraped; the last one at the window's end), each
 * recorded, until the window is over. It fails the phase (AnalysisFailure) as soon as a check exhausts its
 * failed-evaluations budget, or at once when Prometheus cannot answer after its retries: a canary that cannot
 * be judged does not pass.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { FailureBudget } from "./budget.ts";
import { evaluateOnce, type StableWithoutTraffic, type Target } from "./evaluate.ts";
import type { PrometheusClient } from "./prometheus-client.ts";
import { passedWithWarning, type AnalysisEvaluation, type CheckEvaluation } from "./record.ts";
import { fmt } from "./threshold.ts";

/** The phase fails on metrics; the message says which check, for which service, and why. */
export class AnalysisFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnalysisFailure";
  }
}

/** How many evaluations a window of `windowMs` gets, and how far apart: every interval, at least one at its end. */
export function schedule(windowMs: number, intervalMs: number): { count: number; everyMs: number } {
  if (windowMs <= 0) return { count: 0, everyMs: 0 };
  if (windowMs < intervalMs) return { count: 1, everyMs: windowMs };
  return { count: Math.floor(windowMs / intervalMs), everyMs: intervalMs };
}

export interface WindowOptions {
  client: PrometheusClient;
  targets: Target[];
  windowMs: number;
  intervalMs: number;
  /** Aborted when the phase stops for another reason (a failed health check, cancellation): no verdict then. */
  signal: AbortSignal;
  onEvaluation(e: AnalysisEvaluation): void;
  log?: { info(message: string): void; warn(message: string): void };
  /** Stable serves no traffic in this window (weight 100): relative bounds use its earlier values. */
  idle?: StableWithoutTraffic;
}

function line(c: CheckEvaluation): string {
  const v = (x: CheckEvaluation["canary"] | undefined) => (x === null || x === undefined ? "no data" : typeof x === "number" ? fmt(x) : x);
  const stable = "stable" in c ? ` (stable ${v(c.stable)}${c.stableFrom ? ` from ${c.stableFrom}` : ""})` : "";
  const mark = c.result === "pass" ? (passedWithWarning(c) ? "⚠" : "✓") : "✗";
  return `${c.check} ${c.service} ${v(c.canary)}${stable} ${mark}`;
}

/** `work`, or a rejection as soon as `signal` aborts; the listener is removed either way. */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** Run the window's evaluations; resolves with how many ran, rejects with AnalysisFailure. */
export async function analyseWindow(o: WindowOptions): Promise<number> {
  const { count, everyMs } = schedule(o.windowMs, o.intervalMs);
  const budget = new FailureBudget();
  const start = performance.now();
  for (let n = 1; n <= count; n++) {
    try {
      // On an absolute schedule, so slow queries do not push the last evaluation past the window.
      await sleep(Math.max(0, start + n * everyMs - performance.now()), undefined, { signal: o.signal });
    } catch {
      return n - 1; // the phase stopped for another reason
    }
    let e: AnalysisEvaluation;
    try {
      // Raced with the signal: a hung query must not hold a phase that already stopped.
      e = await unlessAborted(evaluateOnce(o.client, o.targets, n, o.signal, o.idle), o.signal);
    } catch (err) {
      if (o.signal.aborted) return n - 1;
      throw err;
    }
    o.onEvaluation(e);
    o.log?.info(`metric analysis ${n}/${count}: ${e.checks.map(line).join("; ")}`);
    const error = e.checks.find((c) => c.result === "error");
    if (error) {
      throw new AnalysisFailure(
        `check "${error.check}" for ${error.service} at evaluation ${n} of ${count}: ${error.reason}; a canary that cannot be judged does not pass`,
      );
    }
    for (const c of e.checks) {
      if (c.result === "pass") {
        if (passedWithWarning(c)) o.log?.warn(`metric analysis: ${c.check} for ${c.service}: ${c.reason}`);
        continue;
      }
      const allowed = o.targets.find((t) => t.check.name === c.check)!.check.allowedFailures;
      const b = budget.fail(c.check, c.service, allowed);
      if (b.exceeded) {
        throw new AnalysisFailure(
          `check "${c.check}" failed for ${c.service} at evaluation ${n} of ${count}: ${c.reason} (${b.failures} failed evaluation(s), ${allowed} allowed)`,
        );
      }
      o.log?.warn(`metric analysis: ${c.check} for ${c.service} failed (${c.reason}); ${b.failures} of ${allowed} allowed failure(s) used`);
    }
  }
  return count;
}
