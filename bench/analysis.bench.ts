/**
 * Metric analysis, from the first bad request a user got to canary weight 0 written (then verified by the
 * pipeline), with a REAL Prometheus (Debian's) scraping the simulator's edge every second and users sending
 * requests through it; the shipped ingress-nginx queries judge the canary every 2 s over a 6 s window (the
 * test timing; production's 30 s interval and 1 m window scale it up):
 *   - a canary failing 5 % of one endpoint's requests (smoke tests never call it);
 *   - a canary 500 ms slower on that endpoint;
 *   - side by side, the same 5 % canary with analysis off: smoke probes and health watches alone never see it.
 */
import { readHistory } from "#src/audit/history.ts";
import { FailedError } from "#src/errors.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { startAnalysisRun, USER_PATH, type AnalysisRun } from "../test/analysis/fixture.ts";
import { INGRESSES } from "../test/support/pipeline-harness.ts";
import { medianOf, type BenchResult } from "./lib.ts";

const RUNS = 3;
const WEIGHT = "nginx.ingress.kubernetes.io/canary-weight";

/** When the canary Ingress's weight went from above 0 to 0 (wall-clock ms), from the recorded store events. */
function weightZeroAt(run: AnalysisRun): number | undefined {
  let last = 0;
  for (const r of run.h.events) {
    if (r.event.typeKey !== INGRESSES || r.event.object.metadata.name !== "production-ingress-canary") continue;
    const w = Number(r.event.object.metadata.annotations?.[WEIGHT] ?? 0);
    if (last > 0 && w === 0) return r.at;
    last = w;
  }
  return undefined;
}

async function detection(
  kind: "errors" | "latency",
  analysis: boolean,
): Promise<{ ms?: number; outcome: string; evaluations: number; wallMs: number }> {
  const failure = kind === "errors" ? { status: 500, fraction: 0.05, paths: [USER_PATH] } : { latencyMs: 500, paths: [USER_PATH] };
  const run = await startAnalysisRun({
    windows: ["60s", "3s", "3s"],
    scenario: { images: [{ tag: "bad-*", app: { failures: [failure] } }] },
  });
  try {
    if (!analysis) delete (run.h.env.config as { analysis?: unknown }).analysis;
    const started = performance.now();
    const outcome = await deploy(run.h.env, { tag: "bad-1" }).then(
      (rec) => rec.outcome,
      (err: unknown) => (err instanceof FailedError ? "rolled-back" : Promise.reject(err)),
    );
    const bad = run.users.answers.find((a) => a.version === "bad-1" && (kind === "errors" ? a.status >= 500 : a.ms >= 500));
    const zero = weightZeroAt(run);
    const evaluations = (await readHistory(run.h.env.kube, "production"))[0]?.steps[0]?.analysis?.length ?? 0;
    return { ...(bad && zero ? { ms: zero - bad.at } : {}), outcome, evaluations, wallMs: performance.now() - started };
  } finally {
    await run.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const kind of ["errors", "latency"] as const) {
    const times: number[] = [];
    const evals: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await detection(kind, true);
      if (r.ms === undefined || r.outcome !== "rolled-back") throw new Error(`${kind}: expected a rollback, got ${r.outcome}`);
      times.push(r.ms);
      evals.push(r.evaluations);
    }
    results.push({
      name:
        kind === "errors"
          ? "5 % errors at 10 %: first failing request → canary weight 0 (metric analysis, real Prometheus)"
          : "500 ms slower at 10 %: first slow request → canary weight 0 (metric analysis, real Prometheus)",
      medianMs: medianOf(times),
      runs: RUNS,
      note: `evaluations before the verdict: ${evals.join(", ")} (every 2 s, 1 failure allowed, scrapes every 1 s)`,
    });
  }
  const off = await detection("errors", false);
  results.push({
    name: "the same 5 % canary with metric analysis off (smoke probes and health watch only): the whole release",
    medianMs: off.wallMs,
    runs: 1,
    note: off.outcome === "succeeded" ? "never detected: promoted to stable, users keep getting 5 % errors" : `outcome: ${off.outcome}`,
  });
  return results;
}
