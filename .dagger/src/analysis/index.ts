/**
 * Metric analysis, as the pipeline uses it: three calls.
 *
 * - `preflightAnalysis(env)`: before the canary gets traffic, every query once (preflight.ts); UsageError if
 *   one is refused or Prometheus is unreachable.
 * - `observeMetrics(env, …)`: during an observation window, the evaluations (window.ts); rejects with
 *   AnalysisFailure, which the pipeline turns into a step failure and rolls back.
 * - `analysisPlanAction(config, observeMs)` / `analysisOverrunMs(config)`: what `plan` says and counts.
 *
 * Nothing here runs on import.
 */
import { formatDuration } from "../config/duration.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import { ordinal } from "./budget.ts";
import { resolveAuthorization } from "./credentials.ts";
import { targetsFor } from "./evaluate.ts";
import { preflightQueries } from "./preflight.ts";
import { PrometheusClient } from "./prometheus-client.ts";
import type { AnalysisEvaluation } from "./record.ts";
import { StableBaselines, stableServes } from "./stable-baseline.ts";
import { isRelative } from "./threshold.ts";
import { analyseWindow, schedule } from "./window.ts";

export { AnalysisFailure } from "./window.ts";
export type { AnalysisEvaluation, CheckEvaluation } from "./record.ts";
export { analysisToMarkdown } from "./record.ts";

type Analysis = NonNullable<ReleaseConfig["analysis"]>;

/** What analysis needs of the pipeline's environment. */
export interface AnalysisEnv {
  config: ReleaseConfig;
  kube: Kube;
  progress: { waiting(what: string): void; info(message: string): void; warn(message: string): void };
}

// The credential is resolved once per run (preflight) and reused by every window of that run.
const credentials = new WeakMap<AnalysisEnv, Promise<string | undefined>>();

function authorization(env: AnalysisEnv, analysis: Analysis): Promise<string | undefined> {
  let auth = credentials.get(env);
  if (!auth) {
    auth = resolveAuthorization(analysis, { kube: env.kube, namespace: env.config.namespace, env: process.env });
    auth.catch(() => credentials.delete(env));
    credentials.set(env, auth);
  }
  return auth;
}

async function client(env: AnalysisEnv, analysis: Analysis): Promise<PrometheusClient> {
  const auth = await authorization(env, analysis);
  return new PrometheusClient({
    url: analysis.prometheus.url,
    ...(auth ? { authorization: auth } : {}),
    timeoutMs: analysis.prometheus.timeout,
    retries: analysis.prometheus.retries,
  });
}

const withAnalysis = (config: ReleaseConfig): config is ReleaseConfig & { analysis: Analysis } => config.analysis !== undefined;

/** Run every query once; throws UsageError (nothing changed) when one cannot run. No-op without `analysis:`. */
export async function preflightAnalysis(env: AnalysisEnv, opts: { services?: string[]; signal?: AbortSignal } = {}): Promise<void> {
  const { config } = env;
  if (!withAnalysis(config)) return;
  env.progress.waiting(`metric analysis: each query once against ${config.analysis.prometheus.url}`);
  const c = await client(env, config.analysis);
  try {
    const r = await preflightQueries(c, targetsFor(config, opts.services), opts.signal);
    env.progress.info(`metric analysis: ${r.queries} queries answered by ${c.url}; metrics seen: ${r.metrics.join(", ") || "none named"}`);
  } finally {
    await c.close();
  }
}

export interface ObserveOptions {
  /** The services being released (their checks run). */
  services: string[];
  windowMs: number;
  /** The canary's weight in this window: at 100 stable serves nothing, and its earlier values stand in. */
  weight: number;
  /** The release's steps before this one, as recorded: where stable's earlier values come from. */
  earlierSteps: ConstructorParameters<typeof StableBaselines>[0];
  /** Aborted when the phase stops for another reason; not when the window's time is up. */
  signal: AbortSignal;
  onEvaluation(e: AnalysisEvaluation): void;
}

/** The window's evaluations; resolves with how many ran (0 without `analysis:`), rejects with AnalysisFailure. */
export async function observeMetrics(env: AnalysisEnv, o: ObserveOptions): Promise<number> {
  const { config } = env;
  if (!withAnalysis(config) || o.windowMs <= 0) return 0;
  const c = await client(env, config.analysis);
  try {
    return await analyseWindow({
      client: c,
      targets: targetsFor(config, o.services),
      windowMs: o.windowMs,
      intervalMs: config.analysis.interval,
      signal: o.signal,
      onEvaluation: o.onEvaluation,
      log: env.progress,
      ...(stableServes(o.weight) ? {} : { idle: { weight: o.weight, baselines: new StableBaselines(o.earlierSteps) } }),
    });
  } finally {
    await c.close();
  }
}

/**
 * One line for `plan`: how many evaluations an observation window gets and what fails it, and, at a weight where
 * stable serves nothing, what its relative bounds compare with; undefined without analysis. `phase` is the index
 * of the phase in config.phases (the earlier ones are where stable's values come from).
 */
export function analysisPlanAction(config: ReleaseConfig, observeMs: number, phase: number): string | undefined {
  const a = config.analysis;
  if (!a) return undefined;
  const { count, everyMs } = schedule(observeMs, a.interval);
  if (count === 0) return "metric analysis: none (no observation window at this weight)";
  const checks = a.checks.map(
    (c) =>
      `${c.name} (fails the phase at its ${ordinal(c.allowedFailures + 1)} failed evaluation` +
      `${c.allowedFailures + 1 > count ? ", more than this window has: it cannot fail here" : ""}; no data: ${c.noData})`,
  );
  return (
    `metric analysis: ${count} evaluation(s), every ${formatDuration(everyMs)}, of ${checks.join(", ")}; ` +
    `Prometheus unreachable after ${a.prometheus.retries} ${a.prometheus.retries === 1 ? "retry" : "retries"} fails the phase` +
    idleStableNote(config, phase)
  );
}

/** What relative bounds compare with where stable serves no traffic (weight 100); empty elsewhere. */
function idleStableNote(config: ReleaseConfig, phase: number): string {
  const weight = config.phases[phase]?.weight ?? 100;
  const relative = (config.analysis?.checks ?? []).filter((c) => isRelative(c.threshold)).map((c) => c.name);
  if (stableServes(weight) || !relative.length) return "";
  const earlier = config.phases.slice(0, phase).filter((p) => p.observe > 0 && stableServes(p.weight));
  if (!earlier.length) {
    return (
      `; stable gets no traffic at ${weight}% and no earlier phase measures it: the relative bounds of ${relative.join(", ")} ` +
      "are not evaluated here (absolute bounds only, recorded as such)"
    );
  }
  return (
    `; stable gets no traffic at ${weight}%: the relative bounds of ${relative.join(", ")} ` +
    `compare with stable's last value from canary ${earlier.at(-1)!.weight}%`
  );
}

/** How far past its window a phase may run: the last evaluation's queries, every retry and backoff included. */
export function analysisOverrunMs(config: ReleaseConfig): number {
  const p = config.analysis?.prometheus;
  if (!p) return 0;
  const backoff = Array.from({ length: p.retries }, (_, i) => 250 * 2 ** (i + 1)).reduce((a, b) => a + b, 0);
  return (p.retries + 1) * p.timeout + backoff;
}
