/**
 * Production changed under a release (issue 13, items 1–5), through the real bin against the simulator, with the
 * change made from outside by kubectl while the run is live or between a killed run and its repair. The end state is
 * read from the cluster's objects, the invariants from the store's event stream.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import { bin, killDeployAt, spawnBin, stableChanged, waitLockStale, whenStderr } from "../support/bin.ts";
import { stableTemplateImages } from "../support/invariants.ts";
import { deployment, HTTPROUTES, imageOf, INGRESSES, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting, fromOutside, image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const WEIGHT = "nginx.ingress.kubernetes.io/canary-weight";
const canaryIngressWeight = (h: Harness) =>
  (h.sim.store.get(INGRESSES, NS, "production-ingress-canary") as any)?.metadata.annotations?.[WEIGHT] as string | undefined;
/** The canary's share of an HTTPRoute's weighted rules (header rules are not user traffic), as the store has it. */
function routeShare(h: Harness, route: string): number {
  const r = h.sim.store.get(HTTPROUTES, NS, route) as any;
  let canary = 0;
  let total = 0;
  for (const rule of r.spec.rules) {
    if (rule.matches?.some((m: any) => m.headers?.length)) continue;
    for (const b of rule.backendRefs ?? []) {
      total += b.weight ?? 1;
      if (b.name === `${route}-canary`) canary += b.weight ?? 1;
    }
  }
  return total ? (100 * canary) / total : 0;
}

/** release.yaml as the operator edits it after a run died: another file, the harness's own left as it was. */
async function editedConfig(h: Harness, edit: (doc: any) => void): Promise<string> {
  const doc = parse(await readFile(h.configPath, "utf8"));
  edit(doc);
  const path = join(h.dir, "edited-release.yaml");
  await writeFile(path, stringify(doc));
  return path;
}

const OBSERVING_50 = "canary 50% · weight 50% · waiting for observation window";
const OBSERVING_10 = "canary 10% · weight 10% · waiting for observation window";

describe("1. release.yaml changed between a killed run and its repair", () => {
  it("ingress-nginx, the Ingress renamed: rollback puts back the canary Ingress the run recorded, and says release.yaml differs", async () => {
    h = await startHarness({ config: (d) => ((d.phases[1].observe = "20s"), (d.lock.ttl = "6s")) });
    await killDeployAt(h, "1.1.0", OBSERVING_50);
    await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
    expect(canaryIngressWeight(h)).toBe("50");
    const renamed = await editedConfig(h, (d) => d.services.forEach((s: any) => (s.route.ingress = "production-ingress-v2")));
    const rb = await bin(h, ["rollback", "--reason", "runner died"], renamed);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(
      new RegExp(
        /release\.yaml differs from what the interrupted release recorded: /.source +
          /service qualisys-api: release\.yaml now routes through Ingress production-ingress-v2; /.source +
          /the interrupted release changed Ingress production-ingress.*acting on the recorded objects/.source,
      ),
    );
    // The route the run moved is back at 0: no user reaches the canary scaled to 0 (today's main left it at 50).
    expect(canaryIngressWeight(h)).toBe("0");
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps.at(-1)?.detail).toMatch(/acted on the objects the interrupted release recorded \(release\.yaml differs: /);
    expectInvariants(h);
  }, 90_000);

  it("gateway-api, a service dropped: deploy --repair rolls back both recorded HTTPRoutes, then releases the service left", async () => {
    h = await startHarness({ router: "gateway-api", config: (d) => ((d.phases[1].observe = "20s"), (d.lock.ttl = "6s")) });
    await killDeployAt(h, "1.1.0", OBSERVING_50);
    await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
    expect([routeShare(h, "qualisys-api"), routeShare(h, "qualisys-web")]).toEqual([50, 50]);
    const apiOnly = await editedConfig(h, (d) => {
      d.services = d.services.filter((s: any) => s.name === "qualisys-api");
      d.phases[1].observe = "200ms";
    });
    const repaired = await bin(h, ["deploy", "--tag", "1.2.0", "--repair"], apiOnly);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(
      /release\.yaml no longer names service qualisys-web, which the interrupted release changed \(HTTPRoute qualisys-web/,
    );
    // The dropped service's route and canary are back at rest, its stable untouched (today's main left them at 50 %).
    expect(routeShare(h, "qualisys-web")).toBe(0);
    expect(deployment(h.sim, "qualisys-web-canary").spec.replicas).toBe(0);
    expect(stableTemplateImages(h.events, "qualisys-web")).toEqual([image("qualisys-web", OLD)]);
    await expectResting(h, "1.2.0", "succeeded", ["qualisys-api"]);
    const [release, repair] = await readHistory(h.env.kube, NS);
    expect([release?.command, repair?.command]).toEqual(["deploy", "rollback"]);
    expectInvariants(h);
  }, 90_000);
});

describe("2. a hotfix made by hand on stable during a release", () => {
  it("is never promoted over: the release stops before promotion and names who changed stable", async () => {
    h = await startHarness({ config: (d) => (d.phases[1].observe = "3s") });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, OBSERVING_50);
    const hotfix = image("qualisys-api", "1.0.1-hotfix");
    await fromOutside(
      h,
      ["set", "image", "deployment/qualisys-api-stable", `qualisys-api=${hotfix}`, "-n", NS],
      ["apps/v1/deployments", "qualisys-api-stable"],
    );
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(String(r.stderr)).toMatch(
      new RegExp(
        /failed at promote: stable was changed by someone else during the release: /.source +
          /Deployment production\/qualisys-api-stable was changed by "kubectl-set" \(Update at [^)]+\): /.source +
          /image \S+qualisys-api:1\.0\.0 → \S+qualisys-api:1\.0\.1-hotfix.*does not promote over someone else's change/.source,
      ),
    );
    // Stable keeps the hotfix; the release's image never reached it (today's main promoted over it).
    expect(stableTemplateImages(h.events, "qualisys-api")).toEqual([image("qualisys-api", OLD), hotfix]);
    expect(stableTemplateImages(h.events, "qualisys-web")).toEqual([image("qualisys-web", OLD)]);
    expect(canaryIngressWeight(h)).toBe("0");
    for (const s of ["qualisys-api-canary", "qualisys-web-canary"]) expect(deployment(h.sim, s).spec.replicas).toBe(0);
    const [rec] = await readHistory(h.env.kube, NS);
    expect(rec?.outcome).toBe("rolled-back");
    expect(rec?.services.find((s) => s.name === "qualisys-api")?.finalImage).toBe(hotfix);
    expectInvariants(h);
  }, 90_000);

  it("is never restored over: a rollback after a killed promotion restores only the stable nobody else changed", async () => {
    // 1.6.0's pods take 30 simulated seconds to start, so the kill lands while stable's rollout is under way.
    h = await startHarness({
      scenario: { images: [{ tag: "1.6.0", pod: { kind: "ready", startSeconds: 30, readyAfterSeconds: 1 } }] },
      config: (d) => (d.lock.ttl = "6s"),
    });
    await killDeployAt(
      h,
      "1.6.0",
      "promote · weight 100% · started",
      stableChanged(h, (svc) => image(svc, OLD)),
    );
    await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
    const hotfix = image("qualisys-api", "1.0.1-hotfix");
    await fromOutside(
      h,
      ["set", "image", "deployment/qualisys-api-stable", `qualisys-api=${hotfix}`, "-n", NS],
      ["apps/v1/deployments", "qualisys-api-stable"],
    );
    const rb = await bin(h, ["rollback"]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(
      /not restoring stable of qualisys-api: Deployment production\/qualisys-api-stable was changed by "kubectl-set"/,
    );
    // The hotfix stays (today's main put 1.0.0 back over it); the other stable is put back on its previous revision.
    expect(stableTemplateImages(h.events, "qualisys-api")).toEqual([image("qualisys-api", OLD), pinned("qualisys-api", "1.6.0"), hotfix]);
    expect(stableTemplateImages(h.events, "qualisys-web")).toEqual([
      image("qualisys-web", OLD),
      pinned("qualisys-web", "1.6.0"),
      image("qualisys-web", OLD),
    ]);
    expect(imageOf(deployment(h.sim, "qualisys-api-stable"), "qualisys-api")).toBe(hotfix);
    expect(canaryIngressWeight(h)).toBe("0");
    const [rec] = await readHistory(h.env.kube, NS);
    expect(rec?.steps.at(-1)?.detail).toMatch(
      /stable was not restored over someone else's change: Deployment production\/qualisys-api-stable was changed by "kubectl-set"/,
    );
    expectInvariants(h);
  }, 90_000);
});

describe("3. a weight changed by someone else during observation ends the phase", () => {
  it.each([
    ["set to 100 by hand", "100", /now gives the canary 100 %, not the 10 % this run set and verified, changed by "kubectl-annotate"/],
    ["set to 0 by hand", "0", /now gives the canary 0 %, not the 10 % this run set and verified, changed by "kubectl-annotate"/],
  ])(
    "ingress-nginx, the canary weight %s: failed and rolled back, the change and its writer named",
    async (_what, weight, named) => {
      h = await startHarness({ config: (d) => (d.phases[0].observe = "20s") });
      const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
      await whenStderr(run, OBSERVING_10);
      const rv = await fromOutside(
        h,
        ["annotate", "ingress", "production-ingress-canary", `${WEIGHT}=${weight}`, "--overwrite", "-n", NS],
        [INGRESSES, "production-ingress-canary"],
      );
      const r = await run;
      expect(r.exitCode, String(r.stderr)).toBe(1);
      expect(String(r.stderr)).toMatch(
        /failed at canary 10%: traffic was moved by someone else: Ingress production\/production-ingress-canary /,
      );
      expect(String(r.stderr)).toMatch(named);
      const rec = await expectResting(h, OLD, "rolled-back");
      expect(rec.steps.map((s) => [s.name, s.result])).toEqual([
        ["canary 10%", "failed"],
        ["rollback", "passed"],
      ]);
      for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD)]);
      expectInvariants(h, { outsider: [rv] });
    },
    90_000,
  );

  it.each([
    [
      "changed by hand (kubectl replace)",
      async (h: Harness) => {
        const route = structuredClone(h.sim.store.get(HTTPROUTES, NS, "qualisys-api") as any);
        for (const rule of route.spec.rules)
          for (const b of rule.backendRefs)
            if (!rule.matches?.some((m: any) => m.headers?.length)) b.weight = b.name.endsWith("-canary") ? 100 : 0;
        delete route.metadata.managedFields;
        return fromOutside(h, ["replace", "-f", "-"], [HTTPROUTES, "qualisys-api"], JSON.stringify(route));
      },
      /HTTPRoute production\/qualisys-api now gives the canary 100 %, not the 10 % this run set and verified, changed by "kubectl-replace"/,
    ],
    [
      "re-applied by GitOps (kubectl apply of the manifests: 100/0)",
      (h: Harness) => fromOutside(h, ["apply", "-k", "kubernetes/production/gateway-api"], [HTTPROUTES, "qualisys-api"]),
      /HTTPRoute production\/qualisys-(api|web) now gives the canary 0 %, not the 10 % this run set and verified, changed by "kubectl-client-side-apply"/,
    ],
  ])(
    "gateway-api, the HTTPRoute %s: failed and rolled back",
    async (_what, change, named) => {
      h = await startHarness({ router: "gateway-api", config: (d) => (d.phases[0].observe = "20s") });
      const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
      await whenStderr(run, OBSERVING_10);
      const rv = await change(h);
      const r = await run;
      expect(r.exitCode, String(r.stderr)).toBe(1);
      expect(String(r.stderr)).toMatch(named);
      await expectResting(h, OLD, "rolled-back");
      expect([routeShare(h, "qualisys-api"), routeShare(h, "qualisys-web")]).toEqual([0, 0]);
      expectInvariants(h, { outsider: [rv] });
    },
    90_000,
  );

  it("replicas router, the canary scaled by hand: its size is its weight, so the phase fails and rolls back, the writer named", async () => {
    h = await startHarness({ router: "replicas", config: (d) => (d.phases[0].observe = "20s") });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, OBSERVING_10);
    // 1 canary pod next to 4 stable ones is the 20 % this run verified; 3 of 7 is 42.9 %.
    expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBe(1);
    const rv = await fromOutside(
      h,
      ["scale", "deployment/qualisys-api-canary", "--replicas=3", "-n", NS],
      ["apps/v1/deployments", "qualisys-api-canary"],
    );
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(String(r.stderr)).toMatch(
      new RegExp(
        /failed at canary 10%: traffic was moved by someone else: /.source +
          /Deployment production\/qualisys-api-canary now gives the canary 42\.9 %, /.source +
          /not the 20 % this run set and verified, changed by "kubectl" \(Update at [^)]+\)/.source,
      ),
    );
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.steps.map((s) => [s.name, s.result])).toEqual([
      ["canary 10%", "failed"],
      ["rollback", "passed"],
    ]);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD)]);
    expectInvariants(h, { outsider: [rv] });
  }, 90_000);
});

describe("4. 'all traffic on a healthy stable' is claimed only after checking", () => {
  it("stable scaled to 0 during the release: the rollback says production is NOT healthy, and why", async () => {
    h = await startHarness({ config: (d) => (d.phases[0].observe = "20s") });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, OBSERVING_10);
    await fromOutside(
      h,
      ["scale", "deployment/qualisys-api-stable", "--replicas=0", "-n", NS],
      ["apps/v1/deployments", "qualisys-api-stable"],
    );
    const r = await run;
    expect(r.exitCode).toBe(1);
    const stderr = String(r.stderr);
    expect(stderr).toMatch(
      new RegExp(
        /Rolled back automatically .*Production now: /.source +
          /production is NOT healthy: stable qualisys-api-stable has no Available pod /.source +
          /\(it was scaled to 0; the release found 4 replicas\)/.source,
      ),
    );
    expect(stderr).not.toMatch(/all traffic on stable running/);
    const [rec] = await readHistory(h.env.kube, NS);
    expect(rec?.finalState).toMatch(/^production is NOT healthy: stable qualisys-api-stable has no Available pod/);
    expect(canaryIngressWeight(h)).toBe("0");
    expectInvariants(h);
  }, 90_000);

  it.each([
    [
      "the main Ingress deleted",
      ["delete", "ingress", "production-ingress", "-n", NS],
      /Ingress production\/production-ingress does not exist: users reach no backend of it/,
    ],
    [
      "a stable Service deleted",
      ["delete", "service", "qualisys-web-stable", "-n", NS],
      /Service production\/qualisys-web-stable does not exist/,
    ],
  ])(
    "rollback after %s: exit 1, production said NOT healthy",
    async (_what, change, named) => {
      h = await startHarness({ config: (d) => ((d.phases[0].observe = "20s"), (d.lock.ttl = "6s")) });
      await killDeployAt(h, "1.1.0", OBSERVING_10);
      await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
      const del = await h.kubectl.run(change);
      expect(del.exitCode, del.stderr).toBe(0);
      const rb = await bin(h, ["rollback"]);
      expect(rb.code, rb.stderr).toBe(1);
      expect(rb.stderr).toMatch(/rollback 1\.1\.0 rolled back, but production is NOT healthy: /);
      expect(rb.stderr).toMatch(named);
      expect(rb.stdout).toMatch(/\*\*Production now:\*\* production is NOT healthy/);
      for (const s of ["qualisys-api-canary", "qualisys-web-canary"]) expect(deployment(h.sim, s).spec.replicas).toBe(0);
      expectInvariants(h);
    },
    90_000,
  );
});

describe("5. a deleted canary Deployment is a fact to report, not a crash", () => {
  it("deleted during observation: the automatic rollback finishes and says the canary is gone", async () => {
    h = await startHarness({ config: (d) => (d.phases[0].observe = "20s") });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, OBSERVING_10);
    await fromOutside(h, ["delete", "deployment", "qualisys-api-canary", "-n", NS], ["apps/v1/deployments", "qualisys-api-canary"]);
    const r = await run;
    expect(r.exitCode).toBe(1);
    const stderr = String(r.stderr);
    expect(stderr).toMatch(
      new RegExp(
        /Deployment qualisys-api-canary was deleted.*Rolled back automatically \(weight 0 verified, canary scaled to 0; /.source +
          /canary Deployment qualisys-api-canary does not exist \(deleted\): it has no pod, and its weight is 0\)/.source,
      ),
    );
    expect(stderr).toMatch(/Production now: all traffic on stable running .*qualisys-api-canary missing \(no pod of it serves\)/);
    expect(stderr).not.toMatch(/HTTP-Code|FAILED/);
    expect(canaryIngressWeight(h)).toBe("0");
    expect(deployment(h.sim, "qualisys-web-canary").spec.replicas).toBe(0);
    expect(deployment(h.sim, "qualisys-api-canary")).toBeUndefined();
    expect((await readHistory(h.env.kube, NS))[0]?.outcome).toBe("rolled-back");
    expectInvariants(h);
  }, 90_000);

  it("deleted after the run died: rollback routes around it and returns the rest to rest", async () => {
    h = await startHarness({ config: (d) => ((d.phases[0].observe = "20s"), (d.lock.ttl = "6s")) });
    await killDeployAt(h, "1.1.0", OBSERVING_10);
    await waitLockStale(h); // By the clock too: the scenario tests the repair, not the takeover.
    const del = await h.kubectl.run(["delete", "deployment", "qualisys-web-canary", "-n", NS]);
    expect(del.exitCode, del.stderr).toBe(0);
    const rb = await bin(h, ["rollback"]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(
      /Deployment production\/qualisys-web-canary does not exist \(deleted during the release\): no pod of it to scale down/,
    );
    expect(canaryIngressWeight(h)).toBe("0");
    expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBe(0);
    const [rec] = await readHistory(h.env.kube, NS);
    expect(rec?.outcome).toBe("rolled-back");
    expect(rec?.steps.at(-1)?.detail).toMatch(/canary Deployment qualisys-web-canary does not exist \(deleted\)/);
    expectInvariants(h);
  }, 90_000);
});
