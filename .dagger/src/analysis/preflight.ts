/**
 * Before the canary gets any traffic: every rendered query is run once, so a PromQL syntax error, a query
 * that returns many series, a misspelt metric (one Prometheus has never seen) or an unreachable Prometheus
 * refuses the release (UsageError, exit 2) with nothing changed, instead of failing it at 50 %.
 * "No data" is expected here (the canary has served nothing yet) and is not an error.
 */
import { UsageError } from "../errors.ts";
import type { Target } from "./evaluate.ts";
import { metricNames } from "./metric-names.ts";
import { PrometheusError, type PrometheusClient } from "./prometheus-client.ts";

export interface PreflightResult {
  queries: number;
  metrics: string[];
}

export async function preflightQueries(client: PrometheusClient, targets: Target[], signal?: AbortSignal): Promise<PreflightResult> {
  const runs = targets.flatMap((t) => [
    { t, field: "query" as const, promql: t.query },
    ...(t.stableQuery ? [{ t, field: "stableQuery" as const, promql: t.stableQuery }] : []),
  ]);
  const refusals: string[] = [];
  for (const r of runs) {
    try {
      await client.query(r.promql, signal);
    } catch (err) {
      if (!(err instanceof PrometheusError)) throw err;
      if (err.kind === "unavailable") {
        throw new UsageError(
          `metric analysis: Prometheus at ${client.url} cannot be reached (${err.message}); ` +
            `without it no canary can be judged, so the release was refused; nothing was changed`,
        );
      }
      refusals.push(`  analysis check "${r.t.check.name}" (${r.t.service}, ${r.field}): ${err.message}\n    query: ${r.promql}`);
    }
  }
  if (refusals.length) {
    throw new UsageError(
      `metric analysis: Prometheus at ${client.url} refused ${refusals.length} query(ies); nothing was changed:\n${refusals.join("\n")}`,
    );
  }
  // Names of the metrics each query reads; a name Prometheus has no series of is a typo or an unscraped exporter.
  const usedBy = new Map<string, Set<string>>();
  for (const r of runs) for (const m of metricNames(r.promql) ?? []) usedBy.set(m, (usedBy.get(m) ?? new Set()).add(r.t.check.name));
  const names = [...usedBy.keys()];
  let known: Set<string>;
  try {
    known = await client.existingMetrics(names, signal);
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err;
    throw new UsageError(`metric analysis: could not list metric names at ${client.url} (${err.message}); nothing was changed`);
  }
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new UsageError(
      `metric analysis: Prometheus at ${client.url} has no series of ${unknown
        .map((n) => `${n} (used by ${[...usedBy.get(n)!].map((c) => `"${c}"`).join(", ")})`)
        .join(", ")}: a misspelt metric, or an exporter Prometheus does not scrape; such a check would never see data; nothing was changed`,
    );
  }
  return { queries: runs.length, metrics: names };
}
