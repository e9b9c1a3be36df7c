/**
 * A release with metric analysis, end to end: the simulator from the production manifests (pipeline harness),
 * a REAL Prometheus scraping the edge's ingress-nginx metrics every second, users sending requests through the
 * edge, and release.yaml's analysis: section taken from the shipped example (kubernetes/production/
 * analysis-examples/ingress-nginx.yaml) with test-sized timing.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { ScenarioInput } from "../sim/index.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";
import { startPrometheus, type PrometheusServer } from "../support/prometheus.ts";
import { startUserTraffic, type UserTraffic } from "../support/user-traffic.ts";

export const HOSTS = ["app.qualisys.io", "api.qualisys.io"];
/** The path users hit: one the smoke suite does not request, so metrics, not smoke tests, see what happens there. */
export const USER_PATH = "/api/version";

export function shippedAnalysis(): Record<string, any> {
  const text = readFileSync("kubernetes/production/analysis-examples/ingress-nginx.yaml", "utf8");
  return (parse(text) as { analysis: Record<string, any> }).analysis;
}

export interface AnalysisRun {
  h: Harness;
  prom: PrometheusServer;
  users: UserTraffic;
  stop(): Promise<void>;
}

export interface AnalysisRunOptions {
  scenario?: ScenarioInput;
  /** Observation windows of 10 %, 50 % and 100 % (durations). */
  windows?: [string, string, string];
  /** Changes to the analysis section (after test timing is applied). */
  analysis?: (a: Record<string, any>) => void;
  /**
   * Users stop once their requests are in Prometheus, before the release: only the release's own smoke tests
   * reach the canary, as for a service nobody calls during the window.
   */
  noUsersDuringRelease?: boolean;
}

/**
 * Test timing: evaluations every 2 s over a 6 s window (Prometheus scrapes every second), and smoke probes rare
 * enough that the users' requests are what the canary's metrics count; the observed split is off, the users
 * already prove the weights.
 */
export async function startAnalysisRun(o: AnalysisRunOptions = {}): Promise<AnalysisRun> {
  const prom = await startPrometheus();
  let h: Harness | undefined;
  let users: UserTraffic | undefined;
  const stop = async () => {
    await users?.stop();
    await h?.stop();
    await prom.stop();
  };
  try {
    const [w10, w50, w100] = o.windows ?? ["8s", "3s", "3s"];
    h = await startHarness({
      ...(o.scenario ? { scenario: o.scenario } : {}),
      config: (d) => {
        d.phases = [
          { weight: 10, observe: w10 },
          { weight: 50, observe: w50 },
          { weight: 100, observe: w100 },
        ];
        d.smoke.probeInterval = "1m";
        d.observedSplit.enabled = false;
        const a = shippedAnalysis();
        a.prometheus = { ...a.prometheus, url: prom.url, timeout: "2s", retries: 1 };
        a.interval = "2s";
        a.window = "6s";
        o.analysis?.(a);
        d.analysis = a;
      },
    });
    await prom.setTargets([new URL(h.sim.edgeMetricsUrl).host]);
    users = startUserTraffic({ edgeUrl: h.sim.edgeUrl, hosts: HOSTS, path: USER_PATH });
    // Both services' stable traffic scraped twice or more (a rate needs two samples): the metrics exist, with
    // values, before the release's preflight looks at them.
    await prom.waitFor(
      'count(count by (service) (rate(nginx_ingress_controller_request_duration_seconds_count{canary=""}[6s]) > 0)) >= 2',
      "a request rate for both services",
    );
    if (o.noUsersDuringRelease) await users.stop();
    return { h, prom, users, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
