/**
 * The two-person rule inside `deploy` (the real bin, the simulator, a stand-in GitHub): a run that fails the rule is
 * refused with exit 2 before anything in the cluster changes, whether named by --github-run or by the Actions
 * environment; a run that passes releases, and its record names the approvers, who started the run, its page and
 * attempt.
 */
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, binEnv } from "../support/bin.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";
import { goodApprovals, startFakeGitHub, type FakeGitHub } from "./github-api.ts";

let gh: FakeGitHub;
let h: Harness | undefined;
beforeAll(async () => {
  gh = await startFakeGitHub();
});
afterAll(() => gh.close());
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function deploy(h: Harness, args: string[], env: Record<string, string>) {
  const r = await execa(
    process.execPath,
    [BIN, "deploy", "--tag", "1.1.0", "--json", ...args, "--config", h.configPath, "--kubeconfig", h.kubeconfigPath],
    { reject: false, extendEnv: false, env: { ...binEnv(h), GITHUB_TOKEN: gh.token, GITHUB_API_URL: gh.url, ...env }, timeout: 90_000 },
  );
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
