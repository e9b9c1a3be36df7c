/**
 * The smoke suite against a healthy local service whose every answer takes a little network-like latency:
 * the default suite (checks concurrently) next to the same checks run one after another, over HTTP and HTTPS.
 */
import { healthyRoutes, startApp, type Route } from "../test/support/smoke-app.ts";
import { makePki } from "../test/support/certs.ts";
import { qualisysSuite, runSmokeSuite, type SmokeOptions } from "#src/smoke/index.ts";
import { medianOf, timeRuns, type BenchResult } from "./lib.ts";

const RUNS = 21;
const LATENCY_MS = 20;
const TOKEN = "bench-token";

const delayed =
  (route: Route): Route =>
  (req, res) =>
    void setTimeout(() => void route(req, res), LATENCY_MS);

export async function run(): Promise<BenchResult[]> {
  const pki = await makePki();
  const routes = Object.fromEntries(Object.entries(healthyRoutes(TOKEN)).map(([p, r]) => [p, delayed(r)]));
  const http = await startApp(routes);
  const https = await startApp(routes, pki.valid);
  const results: BenchResult[] = [];
  try {
    for (const [label, app, ca] of [
      ["http", http, undefined],
      ["https", https, pki.ca],
    ] as const) {
      const base: SmokeOptions = { baseUrl: app.url, token: TOKEN, ca };
      const all = [...qualisysSuite.checks.map((c) => c.name), ...(label === "https" ? ["tls"] : [])];
      const times = await timeRuns(RUNS, {
        concurrent: async () => assertOk(await runSmokeSuite(base)),
        sequential: async () => {
          // The same checks, one suite run per check, one after another.
          for (const name of all) assertOk(await runSmokeSuite({ ...base, skip: all.filter((n) => n !== name) }));
        },
      });
      const concurrent = medianOf(times.concurrent);
      const sequential = medianOf(times.sequential);
      const n = all.length;
      results.push(
        { name: `default suite, ${n} checks concurrently (${label}, ${LATENCY_MS} ms/answer)`, medianMs: concurrent, runs: RUNS },
        {
          name: `same ${n} checks one after another (${label})`,
          medianMs: sequential,
          runs: RUNS,
          note: `${(sequential / concurrent).toFixed(1)}x the concurrent suite`,
        },
      );
    }
  } finally {
    await http.close();
    await https.close();
  }
  return results;
}

function assertOk(report: { ok: boolean; checks: Array<{ name: string; reason?: string }> }): void {
  if (!report.ok) throw new Error(`bench service unhealthy: ${JSON.stringify(report.checks.filter((c) => c.reason))}`);
}
