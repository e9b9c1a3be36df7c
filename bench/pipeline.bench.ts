/**
 * The release pipeline on the simulator, with API latency added to every request (a managed control plane is
 * a few ms away) and the same short observation windows on both sides (FAST: 400 + 200 + 200 ms, one window
 * after each phase):
 *   - failure detection → weight 0 verified, and → full restoration (canary at 0), for a smoke failure at 50 %;
 *   - pipeline overhead: a release's wall time minus its observation windows and the pods' start-up floor;
 *   - Kubernetes API requests per release, printed as a table by verb and resource for 1 and 2 services and for
 *     2 services at 3× the replicas (the goals: at most 60 for the 2-service release, linear in services, flat
 *     in replicas);
 *   - side by side: the same release done as story 0.12's shell workflow does it (kubectl set image / rollout
 *     status / scale, smoke tests, a sleep per phase), with the real kubectl against the same simulator: the
 *     shell side pays one kubectl process (start-up, discovery, a fresh connection) per command;
 *   - the story's two ways back: at 50 %, scaling the canary to 0 and stable back to 4 (the like-for-like
 *     comparison with release-gate's weight 0), and `kubectl rollout undo` of stable once a bad version reached
 *     it (a redeploy: what the story did, not comparable with a weight flip).
 */
import { deploy } from "#src/pipeline/deploy.ts";
import { runSmokeSuite } from "#src/smoke/index.ts";
import { FAST, NS, REGISTRY, startHarness, waitStableAvailable, type Harness } from "../test/support/pipeline-harness.ts";
import { medianOf, type BenchResult } from "./lib.ts";

const RUNS = 3;
const API_LATENCY_MS = 5;
const SERVICES = ["qualisys-api", "qualisys-web"];
const windowsMs = FAST.phases.map((p) => Number.parseInt(p.observe, 10));
const observeTotalMs = windowsMs.reduce((sum, w) => sum + w, 0);

async function harness(o: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(o);
  h.sim.faults.add({ verb: "*", fault: { type: "latency", ms: API_LATENCY_MS } });
  h.sim.faults.resetCounters();
  return h;
}

/** Requests the simulator serves from now on, by "verb resource" (e.g. "patch deployments"). */
function countRequests(h: Harness): Map<string, number> {
  const counts = new Map<string, number>();
  const serve = h.sim.faults.onRequest.bind(h.sim.faults);
  h.sim.faults.onRequest = (req) => {
    const key = `${req.verb} ${req.resource ?? "(other)"}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return serve(req);
  };
  return counts;
}

/** The API requests of one release of 1.1.0, by verb and resource, with `services` and stable at `replicas`. */
async function requestsOfRelease(services: Array<"qualisys-api" | "qualisys-web">, replicas = 4): Promise<Map<string, number>> {
  const h = await harness({ services });
  try {
    if (replicas !== 4) {
      for (const s of ["qualisys-api-stable", "qualisys-web-stable"])
        await h.kubectl.run(["scale", `deployment/${s}`, `--replicas=${replicas}`, "-n", NS]);
      await waitStableAvailable(h.sim, 60_000);
    }
    const counts = countRequests(h);
    await deploy(h.env, { tag: "1.1.0" });
    return counts;
  } finally {
    await h.stop();
  }
}

/** The request table, printed before the timing rows: by verb and resource, one column per release measured. */
function printRequestTable(columns: Array<[string, Map<string, number>]>): void {
  const keys = [...new Set(columns.flatMap(([, m]) => [...m.keys()]))].sort(
    (a, b) => a.split(" ")[1]!.localeCompare(b.split(" ")[1]!) || a.localeCompare(b),
  );
  const rows = keys.map((k) => [k, ...columns.map(([, m]) => String(m.get(k) ?? 0))]);
  rows.push(["total", ...columns.map(([, m]) => String([...m.values()].reduce((a, b) => a + b, 0)))]);
  const header = ["API REQUESTS (verb resource)", ...columns.map(([name]) => name)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log([line(header), ...rows.map(line)].join("\n") + "\n");
}

/** Simulated pod start-up the release must wait for: one canary start per phase, stable's 4 pods one by one. */
function podStartFloorMs(h: Harness): number {
  const pod = h.sim.scenario.defaults.pod as { startSeconds?: number; readyAfterSeconds?: number };
  const perPod = ((pod.startSeconds ?? 1) + (pod.readyAfterSeconds ?? 1)) * h.sim.scenario.timeScale.msPerSecond;
  return (FAST.phases.length + 4) * perPod;
}

async function releaseGate(): Promise<{ wallMs: number; requests: number; overheadMs: number }> {
  const h = await harness();
  try {
    const start = performance.now();
    await deploy(h.env, { tag: "1.1.0" });
    const wallMs = performance.now() - start;
    return { wallMs, requests: h.sim.faults.requests().total, overheadMs: wallMs - observeTotalMs - podStartFloorMs(h) };
  } finally {
    await h.stop();
  }
}

/** Story 0.12's workflow (deploy-production.yml), both services, with one sleep per phase: release-gate's windows. */
async function storyWorkflow(): Promise<{ wallMs: number; requests: number }> {
  const h = await harness();
  const kubectl = async (...args: string[]) => {
    const r = await h.kubectl.run([...args, "-n", NS]);
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  };
  const smoke = async () => {
    for (const host of ["api.qualisys.io", "app.qualisys.io"]) {
      const report = await runSmokeSuite({ baseUrl: h.sim.edgeUrl, extraHeaders: { Host: host }, skip: ["user-me"] });
      if (!report.ok) throw new Error(`story smoke failed on ${host}`);
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const start = performance.now();
    // canary job: set image, (scale to 1: the manifests keep the canary at 0), rollout status, smoke, sleep.
    for (const s of SERVICES) await kubectl("set", "image", `deployment/${s}-canary`, `${s}=${REGISTRY}/${s}:1.1.0`);
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-canary`, "--replicas=1");
    for (const s of SERVICES) await kubectl("rollout", "status", `deployment/${s}-canary`, "--timeout=120s");
    await smoke();
    await sleep(windowsMs[0]);
    // rollout-50 job: scale canary and stable to half each, smoke, watch (the 50 % window).
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-canary`, "--replicas=2");
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-stable`, "--replicas=2");
    await smoke();
    await sleep(windowsMs[1]);
    // rollout-100 job: set image on stable, rollout status, smoke, watch (the 100 % window), scale canary to 0.
    for (const s of SERVICES) await kubectl("set", "image", `deployment/${s}-stable`, `${s}=${REGISTRY}/${s}:1.1.0`);
    for (const s of SERVICES) await kubectl("rollout", "status", `deployment/${s}-stable`, "--timeout=180s");
    await smoke();
    await sleep(windowsMs[2]);
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-canary`, "--replicas=0");
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-stable`, "--replicas=4");
    await smoke();
    return { wallMs: performance.now() - start, requests: h.sim.faults.requests().total };
  } finally {
    await h.stop();
  }
}

/** A smoke failure appearing at 50 %: how fast traffic is back on stable. */
async function rollbackAt50(): Promise<{ weightZeroMs: number; restoredMs: number }> {
  const h = await harness();
  try {
    h.onStep("canary 50%", () => h.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.2.0", app: { failures: [{ status: 500 }] } }] })));
    const err = (await deploy(h.env, { tag: "1.2.0" }).catch((e: unknown) => e)) as {
      record?: { rollbackTimings?: { weightZeroMs?: number; restoredMs?: number } };
    };
    const t = err.record?.rollbackTimings;
    if (t?.weightZeroMs === undefined || t.restoredMs === undefined) throw new Error("the release did not roll back");
    return { weightZeroMs: t.weightZeroMs, restoredMs: t.restoredMs };
  } finally {
    await h.stop();
  }
}

/**
 * The story's way back from a bad canary at 50 % (canary 2 pods of the new version, stable scaled to 2): scale
 * the canary to 0 and stable back to 4, until stable's 4 pods are Available. Like-for-like with release-gate's
 * rollback at 50 % (weight 0, canary to 0), but with one kubectl process per command.
 */
async function storyScaleBackAt50(): Promise<number> {
  const h = await harness();
  const kubectl = async (...args: string[]) => {
    const r = await h.kubectl.run([...args, "-n", NS]);
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  };
  try {
    for (const s of SERVICES) await kubectl("set", "image", `deployment/${s}-canary`, `${s}=${REGISTRY}/${s}:1.2.0`);
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-canary`, "--replicas=2");
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-stable`, "--replicas=2");
    for (const s of SERVICES) await kubectl("rollout", "status", `deployment/${s}-canary`, "--timeout=60s");
    const start = performance.now();
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-canary`, "--replicas=0");
    for (const s of SERVICES) await kubectl("scale", `deployment/${s}-stable`, "--replicas=4");
    for (const s of SERVICES) await kubectl("rollout", "status", `deployment/${s}-stable`, "--timeout=60s");
    return performance.now() - start;
  } finally {
    await h.stop();
  }
}

/** The story's only rollback: `kubectl rollout undo` of stable after a bad version reached it, until rolled out. */
async function storyRollback(): Promise<number> {
  const h = await harness();
  try {
    for (const s of SERVICES) await h.kubectl.run(["set", "image", `deployment/${s}-stable`, `${s}=${REGISTRY}/${s}:1.2.0`, "-n", NS]);
    for (const s of SERVICES) await h.kubectl.run(["rollout", "status", `deployment/${s}-stable`, "-n", NS, "--timeout=60s"]);
    const start = performance.now();
    for (const s of SERVICES) await h.kubectl.run(["rollout", "undo", `deployment/${s}-stable`, "-n", NS]);
    for (const s of SERVICES) await h.kubectl.run(["rollout", "status", `deployment/${s}-stable`, "-n", NS, "--timeout=60s"]);
    return performance.now() - start;
  } finally {
    await h.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  // Requests do not depend on the machine: one release each is enough.
  const one = await requestsOfRelease(["qualisys-api"]);
  const two = await requestsOfRelease(["qualisys-api", "qualisys-web"]);
  const twoBig = await requestsOfRelease(["qualisys-api", "qualisys-web"], 12);
  printRequestTable([
    ["1 service", one],
    ["2 services", two],
    ["2 services, 12 replicas", twoBig],
  ]);
  const ours: Array<Awaited<ReturnType<typeof releaseGate>>> = [];
  const story: Array<Awaited<ReturnType<typeof storyWorkflow>>> = [];
  const rollbacks: Array<Awaited<ReturnType<typeof rollbackAt50>>> = [];
  const undo: number[] = [];
  const scaleBack: number[] = [];
  // Interleaved, so drift on the machine hits both approaches alike.
  for (let i = 0; i < RUNS; i++) {
    ours.push(await releaseGate());
    story.push(await storyWorkflow());
    rollbacks.push(await rollbackAt50());
    undo.push(await storyRollback());
    scaleBack.push(await storyScaleBackAt50());
  }
  const m = (xs: number[]) => medianOf(xs);
  const oursWall = m(ours.map((r) => r.wallMs));
  const storyWall = m(story.map((r) => r.wallMs));
  return [
    {
      name: `release-gate: smoke failure at 50 % → canary weight 0 written and read back (API +${API_LATENCY_MS} ms)`,
      medianMs: m(rollbacks.map((r) => r.weightZeroMs)),
      runs: RUNS,
      note: "in process; stable untouched, so nothing to redeploy",
    },
    {
      name: "release-gate: smoke failure at 50 % → resting state (weight 0 verified, canary scaled to 0, header route removed)",
      medianMs: m(rollbacks.map((r) => r.restoredMs)),
      runs: RUNS,
    },
    {
      name: "story 0.12 at 50 %: kubectl scale canary to 0 and stable back to 4, until stable's 4 pods are Available",
      medianMs: m(scaleBack),
      runs: RUNS,
      note: "one kubectl process per command; manual",
    },
    {
      name: "story 0.12: kubectl rollout undo of stable (bad version already on it) until rolled out",
      medianMs: m(undo),
      runs: RUNS,
      note: "a redeploy, not comparable with a weight flip; one kubectl process per command; after users got the bad version",
    },
    {
      name: "release-gate deploy, 2 services, 10 → 50 → 100 → promote",
      medianMs: oursWall,
      runs: RUNS,
      note: `${m(ours.map((r) => r.requests))} API requests; windows ${observeTotalMs} ms`,
    },
    {
      name: "release-gate overhead (wall − observation windows − pod start floor)",
      medianMs: m(ours.map((r) => r.overheadMs)),
      runs: RUNS,
      note: `windows ${observeTotalMs} ms`,
    },
    {
      name: `story 0.12 kubectl workflow, same release, same windows (${windowsMs.join(" + ")} ms, one after each phase)`,
      medianMs: storyWall,
      runs: RUNS,
      note: `${m(story.map((r) => r.requests))} API requests; one kubectl process per command; no weights, no health watch, no auto rollback`,
    },
  ];
}
