/**
 * The real bin end to end (execa, argument arrays): exit codes, refusals that change nothing, SIGTERM rolling
 * back before exit, SIGKILL leaving state that status explains and rollback / deploy --repair repair (I5).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { deploy } from "#src/pipeline/deploy.ts";
import { bin, BIN, binEnv, spawnBin, stableChanged, waitLockExpired, waitLockStale, whenStderr } from "../support/bin.ts";
import { deployment, imageOf, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { stableTemplateImages } from "../support/invariants.ts";
import { expectInvariants, expectResting, image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function variantConfig(h: Harness, change: (d: any) => void): Promise<string> {
  const doc = parse(await readFile(h.configPath, "utf8"));
  change(doc);
  const path = join(h.dir, `variant-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, stringify(doc));
  return path;
}

describe("bad input: exit 2, nothing in the cluster changed", () => {
  it("refuses bad tags, unknown objects, missing containers, falling weights and a missing kubeconfig", async () => {
    h = await startHarness({});
    const rv = h.sim.store.resourceVersion();
    for (const tag of ["v1; rm -rf /", "$(id)", "v1\nv2"]) {
      const r = await bin(h, ["deploy", "--tag", tag]);
      expect(r.code, `tag ${JSON.stringify(tag)}`).toBe(2);
      expect(r.stderr).toContain("nothing was changed");
    }
    const cases: Array<[string, (d: any) => void, RegExp]> = [
      [
        "unknown Deployment",
        (d) => (d.services[0].canary.deployment = "qualisys-api-canry"),
        /Deployment production\/qualisys-api-canry does not exist/,
      ],
      [
        "unknown Service",
        (d) => (d.services[1].stable.service = "qualisys-web-stabel"),
        /Service production\/qualisys-web-stabel does not exist/,
      ],
      ["unknown Ingress", (d) => (d.services[0].route.ingress = "nope"), /nope.*not found/],
      ["missing container", (d) => (d.services[0].container = "api"), /has no container "api" \(it has: qualisys-api\)/],
      [
        "weights not rising to 100",
        (d) => (d.phases = [{ weight: 50 }, { weight: 10 }]),
        /phases\[1\]\.weight: weights must rise.*\n.*last phase must reach 100/,
      ],
      ["over budget", (d) => (d.phases[0].observe = "20m"), /worst case .* over the 10m budget; costliest: canary 10%/],
    ];
    for (const [what, change, message] of cases) {
      const config = await variantConfig(h, change);
      // As the admin: these are existence checks; as the deployer a misspelt name is not in the Role's resourceNames (403).
      const r = await execa(process.execPath, [BIN, "deploy", "--tag", "1.1.0", "--config", config, "--kubeconfig", h.sim.kubeconfigPath], {
        reject: false,
        env: binEnv(h),
        extendEnv: false,
      });
      expect(r.exitCode, what).toBe(2);
      expect(String(r.stderr), what).toMatch(message);
    }
    const noKube = await execa(
      process.execPath,
      [BIN, "deploy", "--tag", "1.1.0", "--config", h.configPath, "--kubeconfig", "/nonexistent/kubeconfig"],
      { reject: false, env: binEnv(h), extendEnv: false },
    );
    expect(noKube.exitCode).toBe(2);
    expect(String(noKube.stderr)).toMatch(/kubeconfig \/nonexistent\/kubeconfig does not exist/);
    const noKubeAtAll = await execa(process.execPath, [BIN, "deploy", "--tag", "1.1.0", "--config", h.configPath], {
      reject: false,
      env: binEnv(h),
      extendEnv: false,
    });
    expect(noKubeAtAll.exitCode).toBe(2);
    expect(String(noKubeAtAll.stderr)).toMatch(/no kubeconfig/);
    // Not one write reached the simulated cluster.
    expect(h.sim.store.resourceVersion()).toBe(rv);
  }, 60_000);
});

describe("a release through the bin", () => {
  it("deploys, prints the record, and status/history/plan report it", async () => {
    h = await startHarness({});
    const r = await bin(h, ["deploy", "--tag", "1.1.0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/## release-gate deploy `1.1.0` to production: ✅ succeeded/);
    expect(r.stderr).toMatch(/canary 50% · weight 50%/);
    const status = await bin(h, ["status", "--json"]);
    expect(status.code).toBe(0);
    const st = JSON.parse(status.stdout);
    expect(st.resting).toBe(true);
    expect(st.services.map((s: any) => s.stable.image)).toEqual([pinned("qualisys-api", "1.1.0"), pinned("qualisys-web", "1.1.0")]);
    const history = await bin(h, ["history", "--json"]);
    expect(JSON.parse(history.stdout)[0]).toMatchObject({ tag: "1.1.0", outcome: "succeeded", triggeredBy: "cli-tester" });
    const plan = await execa(process.execPath, [BIN, "plan", "--tag", "1.2.0", "--config", h.configPath], {
      reject: false,
      env: binEnv(h),
      extendEnv: false,
    });
    expect(plan.exitCode).toBe(0);
    expect(String(plan.stdout)).toMatch(/canary 10% \(worst case/);
  }, 60_000);
});

describe("killed runs (I5)", () => {
  it("API connection lost mid-phase: the run fails naming the failed rollback; once the API is back, rollback repairs", async () => {
    h = await startHarness({ config: (d) => (d.phases[1].observe = "2s") });
    h.onStep("canary 50%", () => h!.sim.faults.add({ verb: "*", fault: { type: "reset" } }));
    const err = (await deploy(h.env, { tag: "1.1.0" }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/release of 1.1.0 failed at canary 50%: .*Automatic rollback FAILED.*release-gate rollback/);
    h.sim.faults.clear();
    const status = JSON.parse((await bin(h, ["status", "--json"])).stdout);
    expect(status.inFlight).toMatchObject({ tag: "1.1.0", passedWeight: 10 });
    const rb = await bin(h, ["rollback"]);
    expect(rb.code, rb.stderr).toBe(0);
    await expectResting(h, OLD, "rolled-back");
    expectInvariants(h);
  }, 60_000);

  it("SIGTERM mid-phase rolls back before exit", async () => {
    h = await startHarness({ config: (d) => (d.phases[1].observe = "5s") });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, "canary 50% · weight 50% · waiting for observation window");
    run.kill("SIGTERM");
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/SIGTERM received/);
    expect(String(r.stdout)).toMatch(/rolled back/);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.rollbackReason).toMatch(/canary 50%: cancelled: SIGTERM received/);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD)]);
    expectInvariants(h);
  }, 60_000);

  it("SIGKILL mid-phase: status explains it, rollback watches the dead holder's Lease stay silent, takes it over and repairs", async () => {
    // ttl 12 s: renewals every 2 s; the rollback watches the Lease for 3 of them (6 s of its own time) before taking it.
    h = await startHarness({ config: (d) => ((d.phases[1].observe = "10s"), (d.lock.ttl = "12s")) });
    const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
    await whenStderr(run, "canary 50% · weight 50% · waiting for observation window");
    run.kill("SIGKILL");
    await run;
    const status = JSON.parse((await bin(h, ["status", "--json"])).stdout);
    expect(status.resting).toBe(false);
    expect(status.inFlight).toMatchObject({
      tag: "1.1.0",
      step: { kind: "canary", weight: 50 },
      passedWeight: 10,
      promotionStarted: false,
    });
    expect(status.lock.holder).toMatch(/cli-tester/);
    expect(status.lock.expired).toBe(false);
    expect(status.weights.map((w: any) => w.weight)).toEqual([50]);
    // Judged as the lock judges it: renewed seconds ago, so taken for alive; no repair offered (issue 10).
    expect(status.inFlight).toMatchObject({ liveness: "running", options: [], triggeredBy: "cli-tester" });
    const text = await bin(h, ["status"]);
    expect(text.stdout).toMatch(/in flight: RUNNING — release 1.1.0 \(started .* by cli-tester\) is at "canary 50%"; its run is alive/);
    expect(text.stdout).toMatch(/lock: held by cli-tester .*, renewed \d+s ago by this machine's clock \(alive\)/);
    expect(text.stdout).not.toMatch(/--resume|--repair|release-gate rollback/);
    expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBeGreaterThan(0);
    await waitLockStale(h);
    // Now stale by this machine's clock: how long ago it died, and the ways out the commands accept.
    const dead = await bin(h, ["status"]);
    expect(dead.stdout).toMatch(
      /lock: held by cli-tester .*, last renewed \d+s ago by this machine's clock, and not renewed while watched for \d+s: STALE/,
    );
    expect(dead.stdout).toMatch(/in flight: STOPPED — release 1.1.0 \(started .* by cli-tester\) stopped at "canary 50%" about \d+s ago/);
    expect(dead.stdout).toMatch(
      /Ways out: `release-gate rollback`; `release-gate deploy --tag 1.1.0 --resume`; `release-gate deploy --tag <new tag> --repair`/,
    );
    // However recently the dead holder's own clock says it renewed, the rollback judges by watching its Lease.
    const rb = await bin(h, ["rollback", "--reason", "runner died"]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(/waiting for 6\.0 s to see whether cli-tester .* still renews the release lock/);
    expect(rb.stderr).toMatch(
      /took the release lock over from cli-tester .*\(it did not renew it during the [\d.]+ s this run watched it\)/,
    );
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.rollbackReason).toMatch(/runner died; interrupted release 1.1.0/);
    expectInvariants(h);
  }, 60_000);

  it("SIGKILL during promotion: status shows stable being changed, rollback restores its previous revision (I3)", async () => {
    // Pods of 1.6.0 take 30 simulated seconds to start, so stable's rolling update (4 pods, one at a time) is
    // surely under way when the run is killed.
    h = await startHarness({
      scenario: { images: [{ tag: "1.6.0", pod: { kind: "ready", startSeconds: 30, readyAfterSeconds: 1 } }] },
      config: (d) => (d.lock.ttl = "12s"),
    });
    const run = spawnBin(h, ["deploy", "--tag", "1.6.0"]);
    await whenStderr(run, "promote · weight 100% · started");
    const underWay = stableChanged(h, (svc) => image(svc, OLD));
    while (!underWay()) await new Promise((r) => setTimeout(r, 20));
    run.kill("SIGKILL");
    await run;
    expect(imageOf(deployment(h.sim, "qualisys-api-stable"), "qualisys-api")).toBe(pinned("qualisys-api", "1.6.0"));
    const status = JSON.parse((await bin(h, ["status", "--json"])).stdout);
    expect(status.inFlight).toMatchObject({ step: { kind: "promote" }, promotionStarted: true, passedWeight: 100 });
    await waitLockStale(h);
    const rb = await bin(h, ["rollback"]);
    expect(rb.code, rb.stderr).toBe(0);
    await expectResting(h, OLD, "rolled-back");
    for (const svc of ["qualisys-api", "qualisys-web"])
      expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD), pinned(svc, "1.6.0"), image(svc, OLD)]);
    expectInvariants(h);
  }, 60_000);

  it(
    "SIGKILL then deploy refuses (the dead run's lock, which only rollback, --repair or --resume take over) until repaired; " +
      "deploy --repair repairs and releases",
    async () => {
      // ttl 12 s, as everywhere: a shorter one (renewals due within 2.5 × ttl/6) lets a loaded machine make the run
      // give up its lock before it is killed, and then there is no dead run's lock to refuse on.
      h = await startHarness({ config: (d) => ((d.phases[0].observe = "10s"), (d.lock.ttl = "12s")) });
      const run = spawnBin(h, ["deploy", "--tag", "1.1.0"]);
      await whenStderr(run, "canary 10% · weight 10% · waiting for observation window");
      run.kill("SIGKILL");
      await run;
      await waitLockExpired(h);
      // Even long after its Lease expired by this machine's clock: a plain deploy never takes a held lock over.
      const refused = await bin(h, ["deploy", "--tag", "1.2.0"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(
          /another run holds the release lock in namespace production: cli-tester .*/.source +
            /A dead run's lock is taken over by `release-gate rollback` \(or `deploy --resume`\/`--repair`\) /.source +
            /once it has watched it not renew/.source,
        ),
      );
      expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBeGreaterThan(0);
      // In process, with a ttl that no scheduling hiccup of a loaded test machine can outlast (renewals must
      // succeed within 2.5 renew intervals of ttl/6).
      const repaired = await deploy({ ...h.env, config: { ...h.env.config, lock: { ttl: 12_000 } } }, { tag: "1.2.0", repair: true });
      expect(repaired.outcome).toBe("succeeded");
      await expectResting(h, "1.2.0", "succeeded");
      expectInvariants(h);
    },
    120_000,
  );
});
