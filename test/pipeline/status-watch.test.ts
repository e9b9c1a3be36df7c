/**
 * `status --watch` through the real bin against the simulator, next to a live release: it follows the release to
 * its end from watches (exit 0 promoted, 1 rolled back, 2 nothing to watch), and the requests it makes do not grow
 * with the length of the release (no polling).
 */
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { deploy } from "#src/pipeline/deploy.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { picture, summaryLine, type WatchView } from "#src/pipeline/status-watch.ts";
import { BIN, binEnv, spawnBin, whenStderr } from "../support/bin.ts";
import { NS, startHarness, type Harness } from "../support/pipeline-harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const WATCHER = { user: "on-call-watcher", groups: ["release-gate-deployers"] };

/** `status --watch` as its own user (so its requests can be counted apart from the release's). */
async function watch(harness: Harness) {
  return (await startWatch(harness)).run;
}

/** The same, started: `run` is the process (its output streams while it runs). */
async function startWatch(harness: Harness) {
  const kubeconfig = join(harness.dir, "watcher.kubeconfig");
  await harness.sim.writeKubeconfigAs(WATCHER, kubeconfig);
  const run = execa(process.execPath, [BIN, "status", "--watch", "--config", harness.configPath, "--kubeconfig", kubeconfig], {
    reject: false,
    env: binEnv(harness),
    extendEnv: false,
    timeout: 90_000,
  });
  return { run };
}

async function inFlight(harness: Harness): Promise<void> {
  for (let i = 0; (await inspectInFlight(harness.env.kube, NS)).kind !== "ok"; i++) {
    if (i > 2000) throw new Error("no release ever in flight");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The watcher's requests by "verb resource". */
function requestsOf(harness: Harness): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of harness.sim.authz.decisions.filter((x) => x.user === WATCHER.user)) {
    const key = `${d.verb} ${d.resource}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

describe("status --watch", () => {
  it("nothing in flight and no run: exit 2, saying so", async () => {
    h = await startHarness({});
    const r = await watch(h);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain("nothing to watch: no release is in flight and no run holds the release lock");
    expect(String(r.stdout)).toMatch(/^namespace production: at rest and healthy/);
  });

  it("follows a release through its phases to promotion (exit 0), from watches: its requests do not grow with the release", async () => {
    // The first window is long enough for the watch process to start on a loaded machine and still see 10 % live.
    h = await startHarness({
      config: (d) =>
        (d.phases = [
          { weight: 10, observe: "15s" },
          { weight: 50, observe: "2s" },
          { weight: 100, observe: "2s" },
        ]),
    });
    const release = deploy(h.env, { tag: "1.1.0" });
    await inFlight(h);
    const r = await watch(h);
    await release;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = String(r.stdout);
    for (const step of ["canary 10%", "canary 50%", "canary 100%"]) expect(out).toContain(`release 1.1.0 ${step} (running)`);
    expect(out).toMatch(
      new RegExp(
        /^\[\+\d\d:\d\d\] release 1\.1\.0 canary 50% \(running\) · weight set 50, live 50 · /.source +
          /observed qualisys-api \d+%, qualisys-web \d+% · canary pods Ready qualisys-api \d\/\d, qualisys-web \d\/\d · /.source +
          /\d+ probe\(s\) passed(, last passed)? · \d+s left$/.source,
        "m",
      ),
    );
    expect(out).toMatch(/\nrelease 1\.1\.0 promoted \(record [0-9a-f-]+\)$/);
    const requests = requestsOf(h);
    // One watch per kind (re-established only when a connection ends), and a handful of reads: none per phase.
    expect(requests.get("watch configmaps")).toBeGreaterThanOrEqual(1);
    expect(requests.get("watch leases")).toBeGreaterThanOrEqual(1);
    expect(requests.get("watch deployments")).toBeGreaterThanOrEqual(1);
    expect(requests.get("get configmaps") ?? 0).toBeLessThanOrEqual(3);
    expect(requests.get("get leases") ?? 0).toBeLessThanOrEqual(1);
    expect(requests.get("list deployments") ?? 0).toBeLessThanOrEqual(2);
  }, 120_000);

  it("a release that rolls back: exit 1 with the reason", async () => {
    // The canary goes bad only once the watch shows it at 50 %: a watch that starts slowly (a loaded machine) must
    // still find the release in flight, not already rolled back.
    h = await startHarness({ config: (d) => (d.phases[1].observe = "60s") });
    const harness = h;
    const release = deploy(harness.env, { tag: "1.2.0" }).catch((e: unknown) => e);
    await inFlight(harness);
    const { run: watching } = await startWatch(harness);
    await new Promise<void>((resolve) => {
      let seen = "";
      watching.stdout.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (/canary 50%/.test(seen)) resolve();
      });
    });
    harness.sim.updateScenario((s) => ({ ...s, images: [{ tag: "1.2.0", app: { failures: [{ status: 500 }] } }] }));
    const r = await watching;
    await release;
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/release 1\.2\.0 rolled back: canary 50%: smoke tests failed/);
  }, 120_000);
});

describe("status --watch and a run that dies", () => {
  it("judges the holder by watching its Lease: a run SIGKILLed while watched is gone once silent for its stale window (exit 1)", async () => {
    h = await startHarness({ config: (d) => ((d.phases[0].observe = "60s"), (d.lock.ttl = "6s")) });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, "waiting for observation window");
    const watching = watch(h);
    // Killed a moment after the watch started: whether its first read or its watch sees the silence, the verdict is the same.
    await new Promise((r) => setTimeout(r, 1500));
    run.kill("SIGKILL");
    await run.catch(() => undefined);
    const r = await watching;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(String(r.stderr)).toMatch(
      /release 1\.1\.0 stopped at "canary 10%": its run is gone \(the lock went stale\)\. Ways out: `release-gate rollback`/,
    );
  }, 120_000);
});

describe("the watch's picture", () => {
  const view: WatchView = {
    state: {
      id: "r1",
      tag: "1.4.2",
      holder: "dana (github run 7) #ab",
      startedAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:01:00Z",
      step: { kind: "canary", weight: 50 },
      passedWeight: 10,
      promotionStarted: false,
      stepLabel: "canary 50%",
      summary: "",
      triggeredBy: "dana",
      liveness: "running",
      options: [],
      observation: {
        weight: 50,
        startedAt: "2026-01-01T00:00:30Z",
        endsAt: "2026-01-01T00:01:15Z",
        probesPassed: 6,
        lastProbe: { at: "2026-01-01T00:00:58Z", ok: true },
        leftMs: 32_000,
      },
      observedSplit: [{ service: "qualisys-api", expected: 50, observed: 48.5, samples: 200 }],
      configDifferences: [],
    },
    lock: { holder: "dana (github run 7) #ab", expired: false, stale: false, renewedAgoMs: 3_000 },
    services: [
      {
        name: "qualisys-api",
        stable: { deployment: "a-stable", image: "api:1.4.1", replicas: 4, available: 4, ready: 4 },
        canary: { deployment: "a-canary", image: "api:1.4.2", replicas: 2, available: 2, ready: 1 },
      },
    ],
    weights: [{ router: "ingress-nginx Ingress production/production-ingress-canary", weight: 50 }],
  };

  it("a log line says phase, weights set and observed, canary pods, probes and time left", () => {
    expect(summaryLine(view)).toBe(
      "release 1.4.2 canary 50% (running) · weight set 50, live 50 · observed qualisys-api 49% · canary pods Ready qualisys-api 1/2 · " +
        "6 probe(s) passed, last passed · 32s left",
    );
  });

  it("a terminal's picture spreads the same over lines, with stable and the lock", () => {
    expect(picture(view).split("\n")).toEqual([
      "release 1.4.2 (by dana) — canary 50% — RUNNING",
      "  weight 50% on ingress-nginx Ingress production/production-ingress-canary",
      "  weight set: 50% (highest passed 10%)",
      "  observed split qualisys-api: 49% of 200 requests (expected 50%)",
      "  observing: 32s left, 6 probe(s) passed",
      "  last probe 2026-01-01T00:00:58Z: passed",
      "  qualisys-api: canary 1/2 Ready (api:1.4.2); stable 4/4 available (api:1.4.1)",
      "  lock: dana (github run 7) #ab, renewed 3s ago",
    ]);
  });
});
