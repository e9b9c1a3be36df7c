/**
 * Preflight against a real Prometheus: every query runs once before the canary gets traffic, and a query that
 * cannot work refuses the release (exit 2) with nothing changed: no canary Ingress, no canary pod, no weight,
 * no in-flight state, the lock free.
 */
import { afterEach, describe, expect, it } from "vitest";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { readLock } from "#src/kube/lease-lock.ts";
import { UsageError } from "#src/errors.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { bin } from "../support/bin.ts";
import { deployment, INGRESSES, NS, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { freePort } from "../support/prometheus.ts";
import { shippedAnalysis, startAnalysisRun, type AnalysisRun } from "./fixture.ts";

let run: AnalysisRun | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
});

async function refused(): Promise<string> {
  const err = await deploy(run!.h.env, { tag: "1.1.0" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, String(err)).toBeInstanceOf(UsageError);
  await expectNothingChanged();
  return (err as Error).message;
}

async function expectNothingChanged(): Promise<void> {
  const { h } = run!;
  for (const svc of ["qualisys-api", "qualisys-web"]) {
    // Generation 1: the canary Deployment's spec (image, replicas) was never written.
    expect(deployment(h.sim, `${svc}-canary`).metadata.generation).toBe(1);
    expect(deployment(h.sim, `${svc}-canary`).spec.replicas).toBe(0);
  }
  expect(h.sim.store.get(INGRESSES, NS, "production-ingress-canary")).toBeUndefined();
  expect((await inspectInFlight(h.env.kube, NS)).kind).toBe("none");
  expect(await readLock(h.env.kube, NS)).toBeUndefined();
}

describe("metric analysis preflight (real Prometheus)", () => {
  it("refuses a query with a syntax error: exit 2 from the CLI, Prometheus's own parse error quoted", async () => {
    run = await startAnalysisRun({
      analysis: (a) => (a.checks[0].query = 'sum(rate(nginx_ingress_controller_requests{canary!=""}[{{ window }}])'),
    });
    const r = await bin(run.h, ["deploy", "--tag", "1.1.0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/metric analysis: Prometheus at http:\/\/127\.0\.0\.1:\d+ refused 2 query\(ies\); nothing was changed/);
    expect(r.stderr).toMatch(/analysis check "error-rate" \(qualisys-api, query\): HTTP 400 from .*bad_data: .*parse error/);
    expect(r.stderr).toContain('query: sum(rate(nginx_ingress_controller_requests{canary!=""}[6s])');
    await expectNothingChanged();
  }, 120_000);

  it("refuses a misspelt metric, which PromQL would answer with nothing forever", async () => {
    run = await startAnalysisRun({
      analysis: (a) => (a.checks[1].query = a.checks[1].query.replace("request_duration_seconds_bucket", "request_duration_bucket")),
    });
    expect(await refused()).toBe(
      "metric analysis: Prometheus at " +
        run.prom.url +
        ' has no series of nginx_ingress_controller_request_duration_bucket (used by "latency-p99"): ' +
        "a misspelt metric, or an exporter Prometheus does not scrape; " +
        "such a check would never see data; nothing was changed",
    );
  }, 120_000);

  it("refuses a query returning many series (one number is needed)", async () => {
    run = await startAnalysisRun({
      analysis: (a) => (a.checks[0].stableQuery = 'sum by (host) (rate(nginx_ingress_controller_requests{canary=""}[{{ window }}]))'),
    });
    // Stable serves both hosts, so the stable query of either service returns two series.
    expect(await refused()).toMatch(/\(qualisys-api, stableQuery\): the query returned 2 series .* aggregate it/);
  }, 120_000);

  it("refuses to start when Prometheus cannot be reached", async () => {
    const port = await freePort();
    run = await startAnalysisRun({ analysis: (a) => (a.prometheus.url = `http://127.0.0.1:${port}`) });
    expect(await refused()).toBe(
      `metric analysis: Prometheus at http://127.0.0.1:${port} cannot be reached (` +
        `http://127.0.0.1:${port}/api/v1/query: connection failed (ECONNREFUSED) after 2 attempt(s)); ` +
        `without it no canary can be judged, so the release was refused; nothing was changed`,
    );
  }, 120_000);

  it("accepts every shipped Envoy Gateway query (the real Prometheus parses them; no such metrics here)", async () => {
    run = await startAnalysisRun();
    const { parse } = await import("yaml");
    const { readFileSync } = await import("node:fs");
    const envoy = parse(readFileSync("kubernetes/production/analysis-examples/envoy-gateway.yaml", "utf8")).analysis;
    const { renderQuery, templateValues } = await import("#src/analysis/template.ts");
    const { PrometheusClient } = await import("#src/analysis/prometheus-client.ts");
    const client = new PrometheusClient({ url: run.prom.url, timeoutMs: 5000, retries: 0 });
    const config = run.h.env.config;
    for (const svc of config.services) {
      for (const c of envoy.checks as Array<{ query: string; stableQuery?: string }>) {
        for (const q of [c.query, c.stableQuery].filter((x): x is string => !!x)) {
          expect(await client.query(renderQuery(q, templateValues(config, svc, 60_000)))).toEqual({
            kind: "no-data",
            why: expect.any(String),
          });
        }
      }
    }
    await client.close();
  }, 120_000);
});

describe("metric analysis preflight: only a run that will observe asks Prometheus", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  /** The shipped analysis, pointed at a port nothing listens on: any query would refuse the run. */
  async function withUnreachablePrometheus(): Promise<Harness> {
    const port = await freePort();
    return startHarness({
      services: ["qualisys-api"],
      config: (d) => (d.analysis = { ...shippedAnalysis(), prometheus: { url: `http://127.0.0.1:${port}`, timeout: "1s", retries: 0 } }),
    });
  }

  it("deploy and canary --weight (it observes like a phase) refuse; deploy --skip-canary (no observation window) goes ahead", async () => {
    h = await withUnreachablePrometheus();
    const full = await bin(h, ["deploy", "--tag", "1.1.0"]);
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(/metric analysis: Prometheus at .* cannot be reached/);
    const canary = await bin(h, ["canary", "--tag", "1.1.0", "--weight", "10"]);
    expect(canary.code, canary.stderr).toBe(2);
    expect(canary.stderr).toMatch(/metric analysis: Prometheus at .* cannot be reached/);
    const skip = await bin(h, ["deploy", "--tag", "1.1.0", "--skip-canary", "--reason", "INC-1: hotfix"]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stderr).not.toContain("metric analysis");
  }, 120_000);
});
