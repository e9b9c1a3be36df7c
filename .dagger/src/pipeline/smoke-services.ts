/**
 * Smoke tests of every service in the release, at once, through its public URL or straight to the canary. Which
 * checks run is decided once, at preflight (planSmoke): each service's own suite (or the QualiSys default), minus
 * the checks that send a token when no token is given. A token release.yaml requires is refused there, before
 * anything changed, never discovered half-way through a release.
 */
import type { SmokeSummary, StepRecord } from "../audit/record.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import { assertTokenTransport, loadSuite, qualisysSuite, runSmokeSuite, type SmokeReport } from "../smoke/index.ts";
import { directResolver, type Resolver } from "../smoke/public-url.ts";
import { type Run, type SmokePlan, StepFailure } from "./context.ts";
import type { Progress } from "./progress.ts";

/**
 * Each service's suite and skip list. Without a token, the checks that send one (auth: bearer) are skipped, each
 * named in a warning; with `smoke.requireToken`, or when that would leave a suite with nothing to test, refused.
 */
export async function planSmoke(
  config: ReleaseConfig,
  token: string | undefined,
  progress: Progress,
  resolve: Resolver = directResolver,
): Promise<SmokePlan> {
  const plan: SmokePlan = new Map();
  const skipped: string[] = [];
  for (const svc of config.services) {
    const suite = svc.smoke.suite ? await loadSuite(svc.smoke.suite) : qualisysSuite;
    // The token over plain http to anything but loopback is refused here, before anything changed, not at the first probe.
    const sends = token ? suite.checks.find((c) => c.auth === "bearer") : undefined;
    if (sends) {
      const target = new URL(resolve(svc.smoke.url).url);
      try {
        assertTokenTransport(target, sends.name);
      } catch {
        throw new UsageError(
          `refused: ${svc.name}'s smoke tests would send the bearer token (check "${sends.name}") over plain http to ${target.host}` +
            `${target.href !== new URL(svc.smoke.url).href ? ` (where RELEASE_GATE_RESOLVE sends ${svc.smoke.url})` : ""}: anyone on the way could ` +
            "read it. The token travels over https, or over plain http only to loopback (localhost, 127.0.0.0/8, ::1, e.g. a port-forward); " +
            "nothing was changed in the cluster",
        );
      }
    }
    const needToken = token ? [] : suite.checks.filter((c) => c.auth === "bearer").map((c) => c.name);
    if (needToken.length && config.smoke.requireToken) {
      throw new UsageError(
        `no smoke-test token: ${svc.name}'s suite ${suite.name} has checks that send one (${needToken.join(", ")}) and release.yaml sets smoke.requireToken; ` +
          "set SMOKE_TEST_TOKEN (or name another variable with --token-env); nothing was changed in the cluster",
      );
    }
    const left = suite.checks.length - needToken.length + (new URL(svc.smoke.url).protocol === "https:" && suite.tls.enabled ? 1 : 0);
    if (needToken.length && left === 0) {
      throw new UsageError(
        `no smoke-test token: every check of ${svc.name}'s suite ${suite.name} sends one (${needToken.join(", ")}), so nothing would be tested; ` +
          `set SMOKE_TEST_TOKEN (or name another variable with --token-env); nothing was changed in the cluster`,
      );
    }
    if (needToken.length) skipped.push(`${svc.name}: ${needToken.join(", ")}`);
    plan.set(svc.name, { suite, skip: needToken });
  }
  if (skipped.length) progress.warn(`no smoke-test token (see --token-env): checks that send one are skipped (${skipped.join("; ")})`);
  return plan;
}

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
export async function smokeServices(run: Run, o: SmokeRunOptions): Promise<void> {
  const { config, resolve, smokeToken } = run.env;
  const header = run.routing.canaryHeader;
  const results = await Promise.all(
    config.services.map(async (svc) => {
      const target = resolve(svc.smoke.url);
      const planned = run.smoke.get(svc.name) ?? { suite: qualisysSuite, skip: [] };
      const report = await runSmokeSuite({
        baseUrl: target.url,
        suite: planned.suite,
        skip: planned.skip,
        ...(smokeToken ? { token: smokeToken } : {}),
        extraHeaders: target.headers,
        ...(o.canary && header ? { canary: header } : {}),
        timeoutMs: config.smoke.timeout,
        deadlineMs: config.deadlines.smoke,
        retries: config.smoke.retries,
        signal: o.signal ?? run.signal,
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
