/**
 * One evaluation: every check's queries, rendered for each service it applies to, run at once against
 * Prometheus, and each judged against its threshold. A query Prometheus cannot answer is recorded as an
 * "error" (the window then stops the phase: an unjudged canary never passes).
 */
import type { ReleaseConfig } from "../config/schema.ts";
import { PrometheusError, type PrometheusClient, type QueryValue } from "./prometheus-client.ts";
import { recorded, type AnalysisEvaluation, type CheckEvaluation } from "./record.ts";
import { renderQuery, templateValues } from "./template.ts";
import { judge, type Check } from "./threshold.ts";

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

async function evaluateTarget(client: PrometheusClient, t: Target, signal: AbortSignal): Promise<CheckEvaluation> {
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
      reason: `Prometheus ${failed.kind === "refused" ? "refused the" : "could not answer the"} ${which}: ${failed.message}`,
    };
  }
  const c = canary as QueryValue;
  const s = stable as QueryValue | undefined;
  const j = judge(t.check, c, s);
  return {
    ...base,
    canary: recorded(c),
    ...(t.stableQuery ? { stable: recorded(s) } : {}),
    result: j.result,
    ...(j.noData ? { noData: true as const } : {}),
    ...(j.reason ? { reason: j.reason } : {}),
  };
}

/** Evaluation number `n`: all targets at once. Rejects only when `signal` aborts. */
export async function evaluateOnce(
  client: PrometheusClient,
  targets: Target[],
  n: number,
  signal: AbortSignal,
): Promise<AnalysisEvaluation> {
  const at = new Date().toISOString();
  const checks = await Promise.all(targets.map((t) => evaluateTarget(client, t, signal)));
  return { n, at, checks };
}
