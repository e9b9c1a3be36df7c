/**
 * One evaluation: every check's queries, rendered for each service it applies to, run at once against
 * Prometheus, and each judged against its threshold. A query Prometheus cannot answer is recorded as an
 * "error" (the window then stops the phase: an unjudged canary never passes).
 */
import type { ReleaseConfig } from "../config/schema.ts";
import { PrometheusError, type PrometheusClient, type QueryValue } from "./prometheus-client.ts";
import { recorded, type AnalysisEvaluation, type CheckEvaluation } from "./record.ts";
import { renderQuery, templateValues } from "./template.ts";
import type { StableBaselines } from "./stable-baseline.ts";
import { judge, type Check, type StableValue } from "./threshold.ts";

type Analysis = NonNullable<ReleaseConfig["analysis"]>;

/** A check as it runs for one service: its queries rendered. */
export interface Target {
  check: Check;
  service: string;
  query: string;
  stableQuery?: string;
}

/** Every (check, service) pair of the release, queries rendered; `services` limits it to the ones released. */
export function targetsFor(config: ReleaseConfig & { analysis: Analysis }, services?: string[]): Target[] {
  const out: Target[] = [];
  for (const check of config.analysis.checks) {
    for (const svc of config.services) {
      if (services && !services.includes(svc.name)) continue;
      if (check.services && !check.services.includes(svc.name)) continue;
      const values = templateValues(config, svc, config.analysis.window);
      out.push({
        check,
        service: svc.name,
        query: renderQuery(check.query, values),
        ...(check.stableQuery ? { stableQuery: renderQuery(check.stableQuery, values) } : {}),
      });
    }
  }
  return out;
}

async function ask(client: PrometheusClient, promql: string, signal: AbortSignal): Promise<QueryValue | PrometheusError> {
  try {
    return await client.query(promql, signal);
  } catch (err) {
    if (err instanceof PrometheusError && !signal.aborted) return err;
    throw err;
  }
}

/** Stable serves no traffic at this weight (stable-baseline.ts): its query is not run, earlier values stand in. */
export interface StableWithoutTraffic {
  weight: number;
  baselines: StableBaselines;
}

const unanswered = (e: PrometheusError, which: string): string =>
  `Prometheus ${e.kind === "refused" ? "refused the" : "could not answer the"} ${which}: ${e.message}`;

async function evaluateTarget(
  client: PrometheusClient,
  t: Target,
  signal: AbortSignal,
  idle?: StableWithoutTraffic,
): Promise<CheckEvaluation> {
  if (t.stableQuery && idle) return evaluateAgainstEarlier(client, t, signal, idle);
  const [canary, stable] = await Promise.all([
    ask(client, t.query, signal),
    t.stableQuery ? ask(client, t.stableQuery, signal) : undefined,
  ]);
  const base = { check: t.check.name, service: t.service };
  const failed = [canary, stable].find((v): v is PrometheusError => v instanceof PrometheusError);
  if (failed) {
    const which = failed === canary ? "query" : "stableQuery";
    return {
      ...base,
      canary: recorded(canary instanceof PrometheusError ? undefined : canary),
      ...(t.stableQuery ? { stable: recorded(stable instanceof PrometheusError ? undefined : stable) } : {}),
      result: "error",
      reason: unanswered(failed, which),
    };
  }
  return judged(t, canary as QueryValue, stable as QueryValue | undefined);
}

/** Stable's 0/0 at weight 100 says nothing about stable: its value from earlier in the release, or none, instead. */
async function evaluateAgainstEarlier(
  client: PrometheusClient,
  t: Target,
  signal: AbortSignal,
  idle: StableWithoutTraffic,
): Promise<CheckEvaluation> {
  const canary = await ask(client, t.query, signal);
  const stable = idle.baselines.for(t.check.name, t.service, idle.weight);
  if (canary instanceof PrometheusError) {
    return {
      check: t.check.name,
      service: t.service,
      canary: null,
      stable: stable.kind === "earlier" ? recorded({ kind: "value", value: stable.value }) : null,
      ...(stable.kind === "earlier" ? { stableFrom: stable.from } : {}),
      result: "error",
      reason: unanswered(canary, "query"),
    };
  }
  return judged(t, canary, stable);
}

function judged(t: Target, canary: QueryValue, stable: StableValue | undefined): CheckEvaluation {
  const j = judge(t.check, canary, stable);
  const s = stable?.kind === "earlier" ? { kind: "value" as const, value: stable.value } : stable?.kind === "idle" ? undefined : stable;
  return {
    check: t.check.name,
    service: t.service,
    canary: recorded(canary),
    ...(t.stableQuery ? { stable: recorded(s) } : {}),
    ...(stable?.kind === "earlier" ? { stableFrom: stable.from } : {}),
    result: j.result,
    ...(j.noData ? { noData: true as const } : {}),
    ...(j.relativeNotEvaluated ? { relativeNotEvaluated: true as const } : {}),
    ...(j.reason ? { reason: j.reason } : {}),
  };
}

/**
 * Evaluation number `n`: all targets at once. Rejects only when `signal` aborts. `idle`: stable serves no traffic
 * in this window, so stable's queries are not run.
 */
export async function evaluateOnce(
  client: PrometheusClient,
  targets: Target[],
  n: number,
  signal: AbortSignal,
  idle?: StableWithoutTraffic,
): Promise<AnalysisEvaluation> {
  const at = new Date().toISOString();
  const checks = await Promise.all(targets.map((t) => evaluateTarget(client, t, signal, idle)));
  return { n, at, checks };
}
