/** Smoke tests of every service in the release, at once, through its public URL or straight to the canary. */
import { runSmokeSuite, type SmokeReport } from "../smoke/index.ts";
import type { SmokeSummary, StepRecord } from "../audit/record.ts";
import { type Release, StepFailure } from "./context.ts";

export interface SmokeRunOptions {
  /** Send the canary header, so every request reaches the canary (before any user traffic). */
  canary: boolean;
  stepName: string;
  record?: StepRecord;
  signal?: AbortSignal;
}

function summarize(report: SmokeReport, url: string, canary: boolean): SmokeSummary {
  return {
    url,
    canary,
    ok: report.ok,
    checks: report.checks.map((c) => ({
      name: c.name,
      ok: c.ok,
      latencyMs: c.latencyMs,
      ...(c.status !== undefined ? { status: c.status } : {}),
      ...(c.reason ? { reason: c.reason } : {}),
    })),
  };
}

/** Throws StepFailure naming the service and failed checks when any suite fails. */
export async function smokeServices(rel: Release, o: SmokeRunOptions): Promise<void> {
  const { config, resolve, smokeToken } = rel.env;
  const header = rel.routers[0]?.canaryHeader();
  const results = await Promise.all(
    config.services.map(async (svc) => {
      const target = resolve(svc.smoke.url);
      const report = await runSmokeSuite({
        baseUrl: target.url,
        ...(rel.suites.get(svc.name) ? { suite: rel.suites.get(svc.name) } : {}),
        ...(smokeToken ? { token: smokeToken } : { skip: ["user-me"] }),
        extraHeaders: target.headers,
        ...(o.canary && header ? { canary: header } : {}),
        timeoutMs: config.smoke.timeout,
        deadlineMs: config.deadlines.smoke,
        retries: config.smoke.retries,
        signal: o.signal ?? rel.signal,
      });
      return { svc, report, summary: summarize(report, svc.smoke.url, o.canary) };
    }),
  );
  for (const r of results) o.record?.smoke.push(r.summary);
  const failed = results.filter((r) => !r.report.ok);
  if (failed.length) {
    const why = failed
      .map(
        (r) =>
          `${r.svc.name} (${r.svc.smoke.url}${o.canary ? ", canary directly" : ""}): ${r.report.checks
            .filter((c) => !c.ok)
            .map((c) => `${c.name} ${c.reason ?? "failed"}`)
            .join("; ")}`,
      )
      .join(" | ");
    throw new StepFailure(o.stepName, `smoke tests failed: ${why}`);
  }
}
