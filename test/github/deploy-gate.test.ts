/**
 * The two-person rule inside every command that releases an image: deploy, undo, canary and promote (the real bin,
 * the simulator, a stand-in GitHub). A run that fails the rule, or is not this release's run (finished, another
 * workflow, not started by hand, another branch), is refused with exit 2 before anything in the cluster changes,
 * whether named by --github-run or by the Actions environment; a run that passes releases, and its record names the
 * approvers, who started the run, its page and attempt. rollback is never gated.
 */
import { readFile, writeFile } from "node:fs/promises";
import { parse, stringify } from "yaml";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, binEnv } from "../support/bin.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";
import { goodApprovals, startFakeGitHub, type FakeGitHub, type FakeRun } from "./github-api.ts";

let gh: FakeGitHub;
let h: Harness | undefined;
beforeAll(async () => {
  gh = await startFakeGitHub();
});
afterAll(() => gh.close());
afterEach(async () => {
  await h?.stop();
  h = undefined;
  gh.state.runs = [{ id: 16042, actor: "alice-dev", triggeringActor: "alice-dev", attempt: 1 }];
  gh.state.approvals = new Map();
});

async function deploy(h: Harness, args: string[], env: Record<string, string>) {
  return releaseCommand(h, ["deploy", "--tag", "1.1.0", ...args], env);
}

/** The bin with `args` (a command and its options) against the harness and the stand-in GitHub. */
async function releaseCommand(h: Harness, args: string[], env: Record<string, string>) {
  const r = await execa(process.execPath, [BIN, ...args, "--json", "--config", h.configPath, "--kubeconfig", h.kubeconfigPath], {
    reject: false,
    extendEnv: false,
    env: { ...binEnv(h), GITHUB_TOKEN: gh.token, GITHUB_API_URL: gh.url, ...env },
    timeout: 90_000,
  });
  expect(String(r.stdout) + String(r.stderr)).not.toContain(gh.token);
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe("deploy checks the run's approvals before preflight", () => {
  it("refuses (exit 2) a run with one approval, by --github-run or from the Actions environment; nothing in the cluster changed", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    gh.state.approvals.set(16042, [goodApprovals()[0]!]);
    const before = h.sim.store.resourceVersion();
    for (const [args, env] of [
      [["--github-run", "https://github.com/qualisys/platform/actions/runs/16042"], {}],
      [[], { GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "qualisys/platform", GITHUB_RUN_ID: "16042" }],
    ] as Array<[string[], Record<string, string>]>) {
      const r = await deploy(h, args, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("deploy refused, nothing was changed in the cluster: two-person rule NOT satisfied for run 16042");
      expect(r.stderr).toContain("production needs an approval from one of tina-tech, tom-tech");
    }
    expect(h.sim.store.resourceVersion()).toBe(before);
  });

  it("refuses (exit 2) when GitHub cannot be asked: no token", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const before = h.sim.store.resourceVersion();
    const r = await deploy(h, ["--github-run", "qualisys/platform/16042"], { GITHUB_TOKEN: "" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no GitHub token: set GITHUB_TOKEN");
    expect(h.sim.store.resourceVersion()).toBe(before);
  });

  it("releases a run that satisfies the rule and records who approved, who started it, its page and attempt", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    gh.state.approvals.set(16042, goodApprovals());
    gh.state.runs = [{ id: 16042, actor: "alice-dev", triggeringActor: "alice-dev", attempt: 3 }];
    const r = await deploy(h, ["--github-run", "qualisys/platform/16042"], {});
    expect(r.stderr).toContain("two-person rule satisfied for run 16042 (attempt 3)");
    expect(r.code).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record.outcome).toBe("succeeded");
    expect(record.approval).toMatchObject({
      source: "github",
      approvers: [
        { environment: "production-signoff", login: "dana-devops" },
        { environment: "production", login: "tina-tech" },
      ],
      actor: "alice-dev",
      triggeringActor: "alice-dev",
      runUrl: "https://github.com/qualisys/platform/actions/runs/16042",
      runAttempt: 3,
    });
  });

  it("outside GitHub, RELEASE_GATE_APPROVERS is recorded as self-reported", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const r = await deploy(h, [], { RELEASE_GATE_APPROVERS: "bob, carol" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).approval).toEqual({ source: "self-reported", approvers: [{ login: "bob" }, { login: "carol" }] });
  });
});

describe("the approvals count only for this release's run", () => {
  const RUN: FakeRun = { id: 16042, actor: "alice-dev", triggeringActor: "alice-dev", attempt: 1 };
  it.each([
    ["finished", { status: "completed" }, 'its status is "completed", not "in_progress"'],
    [
      "of another workflow",
      { path: ".github/workflows/ci.yml" },
      'its workflow is ".github/workflows/ci.yml", not ".github/workflows/deploy-production.yml"',
    ],
    ["not started by hand", { event: "push" }, 'its event is "push", not "workflow_dispatch"'],
    ["started from another branch", { headBranch: "feature/x" }, 'its branch is "feature/x", not "main"'],
    // Still going, approved, but dispatched for another tag: its approvals are not lent to this one.
    ["dispatched for another tag", { displayTitle: "deploy 1.1.0-rc1" }, 'its title is "deploy 1.1.0-rc1", which does not name 1.1.0'],
  ] as Array<[string, Partial<FakeRun>, string]>)(
    "refuses (exit 2, one line, nothing changed) an approved run that is %s",
    async (_what, differs, names) => {
      h = await startHarness({ services: ["qualisys-api"] });
      gh.state.approvals.set(16042, goodApprovals());
      gh.state.runs = [{ ...RUN, ...differs }];
      const before = h.sim.store.resourceVersion();
      const r = await deploy(h, ["--github-run", "qualisys/platform/16042"], {});
      expect(r.code).toBe(2);
      const refusal = r.stderr.split("\n").filter((l) => l.includes("refused"));
      expect(refusal).toHaveLength(1);
      expect(refusal[0]).toContain(
        "deploy refused: GitHub qualisys/platform run 16042 is not this release's run, so its approvals do not count",
      );
      expect(refusal[0]).toContain(names);
      expect(refusal[0]).toContain("nothing was changed in the cluster");
      // Only what did not match is named.
      expect(refusal[0]!.match(/; its /g) ?? []).toHaveLength(0);
      expect(r.stdout).toBe("");
      expect(h.sim.store.resourceVersion()).toBe(before);
    },
  );

  it("honours release.yaml's approvals.workflow and approvals.branch", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const config = parse(await readFile(h.configPath, "utf8"));
    config.approvals = { ...config.approvals, workflow: ".github/workflows/release.yml", branch: "release" };
    await writeFile(h.configPath, stringify(config));
    gh.state.approvals.set(16042, goodApprovals());
    const before = h.sim.store.resourceVersion();
    // The default workflow and branch are not this configuration's.
    const r = await deploy(h, ["--github-run", "qualisys/platform/16042"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('its workflow is ".github/workflows/deploy-production.yml", not ".github/workflows/release.yml"');
    expect(r.stderr).toContain('; its branch is "main", not "release"');
    expect(h.sim.store.resourceVersion()).toBe(before);
    gh.state.runs = [{ ...RUN, path: ".github/workflows/release.yml", headBranch: "release" }];
    const ok = await deploy(h, ["--github-run", "qualisys/platform/16042"], {});
    expect(ok.stderr).toContain("two-person rule satisfied for run 16042");
    expect(ok.code).toBe(0);
  });

  it("undo refuses (exit 2) an old approved run given by --github-run: nothing taken back", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    gh.state.approvals.set(16042, goodApprovals());
    gh.state.runs = [{ ...RUN, status: "completed" }];
    const before = h.sim.store.resourceVersion();
    const r = await releaseCommand(h, ["undo", "--reason", "INC-1", "--github-run", "qualisys/platform/16042"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("undo refused: GitHub qualisys/platform run 16042 is not this release's run");
    expect(r.stderr).toContain('its status is "completed", not "in_progress"');
    expect(h.sim.store.resourceVersion()).toBe(before);
  });
});

describe("canary and promote go through the same gate as deploy", () => {
  it.each([
    ["canary", ["canary", "--tag", "1.1.0", "--weight", "100"]],
    ["promote", ["promote", "--tag", "1.1.0"]],
  ])(
    "%s refuses (exit 2) a run with one approval, by --github-run or from the Actions environment; nothing changed",
    async (name, args) => {
      h = await startHarness({ services: ["qualisys-api"] });
      gh.state.approvals.set(16042, [goodApprovals()[0]!]);
      const before = h.sim.store.resourceVersion();
      for (const [more, env] of [
        [["--github-run", "qualisys/platform/16042"], {}],
        [[], { GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "qualisys/platform", GITHUB_RUN_ID: "16042" }],
      ] as Array<[string[], Record<string, string>]>) {
        const r = await releaseCommand(h, [...args, ...more], env);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`${name} refused, nothing was changed in the cluster: two-person rule NOT satisfied for run 16042`);
        expect(r.stderr).toContain("production needs an approval from one of tina-tech, tom-tech");
      }
      expect(h.sim.store.resourceVersion()).toBe(before);
    },
  );

  it("canary --weight 100 then promote, for a run that satisfies the rule, record the approvers from GitHub", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    gh.state.approvals.set(16042, goodApprovals());
    const run = ["--github-run", "qualisys/platform/16042"];
    const canary = await releaseCommand(h, ["canary", "--tag", "1.1.0", "--weight", "100", ...run], {});
    expect(canary.stderr).toContain("two-person rule satisfied for run 16042");
    expect(canary.code).toBe(0);
    const promote = await releaseCommand(h, ["promote", "--tag", "1.1.0", ...run], {});
    expect(promote.code).toBe(0);
    for (const out of [canary.stdout, promote.stdout]) {
      expect(JSON.parse(out).approval).toMatchObject({
        source: "github",
        approvers: [
          { environment: "production-signoff", login: "dana-devops" },
          { environment: "production", login: "tina-tech" },
        ],
      });
    }
  });

  it("rollback is never gated: inside an Actions run with no approvals it still takes a canary's traffic away", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    // A canary left in flight by a local run (no GitHub run involved).
    expect((await releaseCommand(h, ["canary", "--tag", "1.1.0", "--weight", "10"], {})).code).toBe(0);
    gh.state.approvals.set(16042, []);
    gh.requests.length = 0;
    const r = await releaseCommand(h, ["rollback", "--reason", "test"], {
      GITHUB_ACTIONS: "true",
      GITHUB_REPOSITORY: "qualisys/platform",
      GITHUB_RUN_ID: "16042",
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: "rollback" });
    expect(gh.requests).toEqual([]);
  });
});
