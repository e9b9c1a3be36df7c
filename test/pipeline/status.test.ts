/**
 * `status` on the simulator (issue 10 and issue 13's status items): a live run told from a dead one as the lock
 * judges it, the ways out the commands accept, the objects the in-flight release recorded (not only release.yaml),
 * health checked before "at rest" is claimed, a missing canary as a fact, and drift from the last recorded release.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { loadReleaseConfig } from "#src/config/load.ts";
import type { PipelineEnv } from "#src/pipeline/context.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { canary } from "#src/pipeline/operator.ts";
import { STATE_CONFIGMAP } from "#src/pipeline/journal.ts";
import { readStatus, type ProductionStatus } from "#src/pipeline/status.ts";
import { statusToText } from "#src/pipeline/status-text.ts";
import { bin } from "../support/bin.ts";
import { NS, REGISTRY, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const RAW = /HTTP-Code|Unknown API Status Code|fetch failed|Body: /;

async function status(
  harness: Harness,
  env: Pick<PipelineEnv, "kube" | "config"> = harness.env,
): Promise<{ st: ProductionStatus; text: string }> {
  const st = await readStatus(env);
  return { st, text: statusToText(st) };
}

async function kubectl(harness: Harness, ...args: string[]): Promise<void> {
  const r = await harness.kubectl.run(args);
  expect(r.exitCode, r.stderr).toBe(0);
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("at rest, and healthy only when checked", () => {
  it("after a release: at rest and healthy; a re-applied manifest is drift, named with the record it departs from", async () => {
    h = await startHarness({});
    const rec = await deploy(h.env, { tag: "1.1.0" });
    let { st, text } = await status(h);
    expect(st).toMatchObject({ resting: true, healthy: true, problems: [], drift: [], inFlight: null, lock: null });
    expect(text).toMatch(/^namespace production: at rest and healthy/);
    // GitOps-style re-apply of the base: stable goes back to the manifests' 1.0.0 behind release-gate's back.
    await kubectl(h, "apply", "-k", "kubernetes/production");
    await until("stable back on 1.0.0", async () => (await readStatus(h!.env)).drift.length === 2);
    ({ st, text } = await status(h));
    expect(st.drift[0]).toMatchObject({
      service: "qualisys-api",
      deployment: "qualisys-api-stable",
      running: `${REGISTRY}/qualisys-api:1.0.0`,
      recorded: pinned("qualisys-api", "1.1.0"),
      recordId: rec.id,
      recordTag: "1.1.0",
    });
    expect(text).toContain(
      `WARNING: drift: qualisys-api-stable runs ${REGISTRY}/qualisys-api:1.0.0, but the last release (1.1.0, record ${rec.id}`,
    );
    expect(text).toMatch(/left it on .*qualisys-api@sha256:.*a GitOps sync.*docs\/gitops\.md/);
  });

  it("stable scaled to 0 or the main Ingress deleted: NOT HEALTHY, never 'at rest'", async () => {
    h = await startHarness({});
    await kubectl(h, "-n", NS, "scale", "deployment/qualisys-api-stable", "--replicas=0");
    await until("api stable at 0", async () => (await readStatus(h!.env)).services[0]!.stable.replicas === 0);
    let { st, text } = await status(h);
    expect(st.resting).toBe(false);
    expect(st.problems).toEqual(["stable Deployment qualisys-api-stable is scaled to 0: nothing serves qualisys-api"]);
    expect(text).toMatch(/^namespace production: NOT at rest, NOT HEALTHY/);
    expect(text).toContain("PRODUCTION IS NOT HEALTHY:\n  - stable Deployment qualisys-api-stable is scaled to 0");
    await kubectl(h, "-n", NS, "delete", "ingress", "production-ingress");
    ({ st, text } = await status(h));
    expect(st.problems).toHaveLength(2);
    expect(st.problems[1]).toMatch(/Ingress production\/production-ingress not found/);
    expect(text).toContain(`  - ${st.problems[1]}`);
  });

  it("a deleted canary Deployment is a fact (no pods, no traffic), not an HTTP dump", async () => {
    h = await startHarness({});
    await kubectl(h, "-n", NS, "delete", "deployment", "qualisys-web-canary");
    const r = await bin(h, ["status"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/canary {2}MISSING \(Deployment qualisys-web-canary does not exist: no pods, no traffic\)/);
    expect(r.stdout).toMatch(/WARNING: canary Deployment qualisys-web-canary does not exist: .*the next release refuses/);
    expect(r.stdout + r.stderr).not.toMatch(RAW);
  });
});

describe("a release in flight", () => {
  it("a live run: RUNNING, who triggered it (never 'unknown'), the window's progress, and no repair offered", async () => {
    h = await startHarness({ config: (d) => (d.phases[0].observe = "20s") });
    const harness = h;
    const env: PipelineEnv = { ...harness.env, identity: "unknown (ci-box pid 42) #0001", triggeredBy: "dana-devops" };
    const running = deploy(env, { tag: "1.1.0", signal: AbortSignal.timeout(60_000) }).catch((e: unknown) => e);
    await until("the window is written", async () => (await readStatus(harness.env)).inFlight?.observation !== undefined);
    const { st, text } = await status(harness);
    expect(st.inFlight).toMatchObject({
      tag: "1.1.0",
      liveness: "running",
      options: [],
      triggeredBy: "dana-devops",
      stepLabel: "canary 10%",
    });
    expect(st.inFlight!.observation).toMatchObject({ weight: 10, probesPassed: 0 });
    expect(st.inFlight!.observation!.leftMs).toBeGreaterThan(0);
    expect(st.inFlight!.observedSplit?.[0]).toMatchObject({ expected: 10 });
    expect(st.lock!.heldBy).toBe("dana-devops (ci-box pid 42) #0001");
    expect(text).toMatch(/lock: held by dana-devops \(ci-box pid 42\) #0001, renewed \d+s ago by this machine's clock \(alive\)/);
    expect(text).toMatch(/in flight: RUNNING — release 1.1.0 \(started .* by dana-devops\) is at "canary 10%"/);
    expect(text).toMatch(/observing weight 10%: \d+s left, 0 probe\(s\) passed/);
    expect(text).not.toMatch(/unknown|--repair|--resume|release-gate rollback/);
    await harness.kubectl.run(["-n", NS, "delete", "lease", "release-gate"]); // the run stops: not this test's subject
    await running;
  });

  it("a canary held for the operator: its next commands (never --resume, which refuses it)", async () => {
    h = await startHarness({});
    await canary(h.env, { tag: "2.0.0", weight: 100 });
    const { st, text } = await status(h);
    expect(st.inFlight).toMatchObject({
      liveness: "held",
      options: ["release-gate canary --tag 2.0.0 --weight <1-100>", "release-gate promote --tag 2.0.0", "release-gate rollback"],
    });
    expect(text).toMatch(/in flight: HELD — the canary of release 2.0.0 .* is held at weight 100 for the operator/);
    expect(text).not.toContain("--resume");
    const r = await bin(h, ["deploy", "--tag", "2.0.0", "--resume"]);
    expect(r.code).toBe(2); // what status does not offer, resume indeed refuses
  });

  it("release.yaml changed since: the recorded route objects are read, and every difference is named", async () => {
    h = await startHarness({});
    await canary(h.env, { tag: "2.0.0", weight: 50 });
    const doc = parse(await readFile(h.configPath, "utf8"));
    for (const s of doc.services) s.route.ingress = "renamed-ingress";
    const path = join(h.dir, "renamed.yaml");
    await writeFile(path, stringify(doc));
    const { config } = await loadReleaseConfig(path);
    const { st, text } = await status(h, { kube: h.env.kube, config });
    // The canary Ingress the release moved still carries 50 %: that is where users' traffic goes.
    expect(st.weights).toEqual([{ router: "ingress-nginx Ingress production/production-ingress-canary", weight: 50 }]);
    expect(st.resting).toBe(false);
    // The same sentences rollback prints (recorded.ts), naming the release as in flight (its run may be alive).
    expect(st.inFlight!.configDifferences).toEqual([
      "service qualisys-api: release.yaml now routes through Ingress renamed-ingress; the release in flight changed Ingress production-ingress",
      "service qualisys-web: release.yaml now routes through Ingress renamed-ingress; the release in flight changed Ingress production-ingress",
    ]);
    expect(text).toMatch(
      new RegExp(
        /release\.yaml differs from what this release recorded \(status reads the recorded objects\): /.source +
          /service qualisys-api: release\.yaml now routes through Ingress renamed-ingress/.source,
      ),
    );
  });

  it("a state naming a Deployment release-gate never wrote is not trusted, as rollback judges it: UNREADABLE, never its weights' owner", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const victim = await h.kubectl.run(["apply", "-f", "-"], {
      input: stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "payments", namespace: NS },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "payments" } },
          template: {
            metadata: { labels: { app: "payments" } },
            spec: { containers: [{ name: "payments", image: "registry.example.com/payments:3.2.1" }] },
          },
        },
      }),
    });
    expect(victim.exitCode, victim.stderr).toBe(0);
    await canary(h.env, { tag: "2.0.0", weight: 10 });
    // Someone with `update` on the ConfigMap adds a "dropped service" whose Deployments are another team's.
    const cm = await h.env.kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS });
    const forged = JSON.parse(cm.data!["inflight.json"]!);
    forged.services.push({
      ...structuredClone(forged.services[0]),
      name: "billing",
      container: "payments",
      stable: { ...forged.services[0].stable, deployment: "payments" },
      canary: { ...forged.services[0].canary, deployment: "payments" },
    });
    await h.env.kube.core.replaceNamespacedConfigMap({
      name: STATE_CONFIGMAP,
      namespace: NS,
      body: { ...cm, data: { "inflight.json": JSON.stringify(forged) } },
    });
    const { st, text } = await status(h);
    expect(st.inFlight).toBeNull();
    expect(st.stateUnreadable?.reason).toBe(
      "it does not match release.yaml: billing names Deployment payments, which release-gate never changed",
    );
    expect(st.services.map((s) => s.name)).toEqual(["qualisys-api"]);
    expect(text).toMatch(/in flight: UNREADABLE — the in-flight state \(ConfigMap release-gate-state\) is unreadable: it does not match/);
  });
});
