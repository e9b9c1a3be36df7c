/**
 * `release-gate github-environments --check | --apply` through the real bin against a local stand-in for GitHub's
 * REST API: each kind of drift named, --apply making GitHub so (and refusing a token that is not an admin's), the
 * exit codes, and the token never printed.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { releaseGate } from "../support/run-cli.ts";
import { compliantEnvironments, OWNER, REPO, startFakeGitHub, type FakeGitHub } from "./github-api.ts";

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await startFakeGitHub();
});
afterAll(() => gh.close());
beforeEach(() => {
  gh.state.failWith = undefined;
  gh.state.failWritesWith = undefined;
  gh.state.admin = true;
  gh.state.environments = compliantEnvironments();
  gh.requests.length = 0;
});

async function run(mode: "--check" | "--apply", args: string[] = [], env: Record<string, string> = {}) {
  const r = await releaseGate(["github-environments", mode, "--repo", `${OWNER}/${REPO}`, ...args], {
    GITHUB_TOKEN: gh.token,
    GITHUB_API_URL: gh.url,
    ...env,
  });
  expect(r.stdout + r.stderr).not.toContain(gh.token);
  return r;
}

const prod = () => gh.state.environments.get("production")!;
const writes = () => gh.requests.filter((q) => q.method !== "GET");

describe("github-environments --check", () => {
  it("exit 0 when both environments are as configured, and changes nothing", async () => {
    const r = await run("--check");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("production-signoff: as configured");
    expect(r.stdout).toContain("production: as configured");
    expect(r.stdout).toContain("every environment of qualisys/platform is as configured");
    expect(writes()).toEqual([]);
  });

  it.each<[string, () => void, string]>([
    [
      "a reviewer missing and one not configured",
      () =>
        (prod().reviewers = [
          { type: "User", login: "tina-tech" },
          { type: "User", login: "eve" },
        ]),
      "required reviewers: GitHub has tina-tech, eve, configured tina-tech, tom-tech (missing tom-tech; not configured eve)",
    ],
    ["a team among the reviewers", () => prod().reviewers.push({ type: "Team", slug: "platform" }), "not configured team platform"],
    ["no reviewers at all", () => (prod().reviewers = []), "required reviewers: none on GitHub, configured tina-tech, tom-tech"],
    ["prevent_self_review off", () => (prod().preventSelfReview = false), "prevent_self_review is off"],
    ["any branch may deploy", () => (prod().branchPolicy = null), "deployment branches: any branch may deploy, configured main only"],
    [
      "protected branches may deploy",
      () => (prod().branchPolicy = { protected_branches: true, custom_branch_policies: false }),
      "deployment branches: every protected branch may deploy",
    ],
    [
      "another branch allowed besides main",
      () => prod().branches.push({ id: 5, name: "release/*", type: "branch" }),
      "deployment branches: GitHub allows main, release/*, configured main only",
    ],
    [
      "a tag instead of the branch",
      () => (prod().branches = [{ id: 5, name: "main", type: "tag" }]),
      "deployment branches: GitHub allows tag main, configured main only",
    ],
    ["administrators may bypass", () => (prod().canAdminsBypass = true), "administrators can bypass the protection rules"],
    [
      "the environment does not exist",
      () => gh.state.environments.delete("production"),
      "production: 1 drift\n  - does not exist on GitHub",
    ],
  ])("exit 1 naming the drift: %s", async (_what, change, message) => {
    change();
    const r = await run("--check");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(message);
    expect(r.stdout).toContain("production-signoff: as configured");
    expect(r.stdout).toContain("github-environments --apply --repo qualisys/platform");
    expect(writes()).toEqual([]);
  });

  it("names every drift of an environment, one line each", async () => {
    Object.assign(prod(), { preventSelfReview: false, canAdminsBypass: true, branchPolicy: null });
    const r = await run("--check", ["--json"]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.environments.find((e: { environment: string }) => e.environment === "production").drift).toHaveLength(3);
  });

  it.each([
    [401, "GitHub refused the token"],
    [403, "GitHub denied repository qualisys/platform (403"],
    [404, "GitHub found no repository qualisys/platform (404"],
  ])("exit 2 when GitHub answers %i", async (status, message) => {
    gh.state.failWith = status;
    const r = await run("--check");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("exit 2 with neither or both of --check and --apply", async () => {
    const r = await releaseGate(["github-environments", "--check", "--apply", "--repo", `${OWNER}/${REPO}`], {
      GITHUB_TOKEN: gh.token,
      GITHUB_API_URL: gh.url,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("exactly one of --check and --apply");
  });
});

describe("github-environments --apply", () => {
  it("fixes every drift, then checks again: exit 0", async () => {
    Object.assign(prod(), {
      reviewers: [{ type: "User", login: "eve" }],
      preventSelfReview: false,
      canAdminsBypass: true,
      branches: [
        { id: 7, name: "develop", type: "branch" },
        { id: 8, name: "main", type: "branch" },
      ],
      waitTimer: 5,
    });
    gh.state.environments.delete("production-signoff");
    const r = await run("--apply");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("production: fixed");
    expect(r.stdout).toContain("every environment of qualisys/platform is as configured");
    expect(prod()).toMatchObject({
      reviewers: [
        { type: "User", login: "tina-tech" },
        { type: "User", login: "tom-tech" },
      ],
      preventSelfReview: true,
      canAdminsBypass: false,
      branchPolicy: { protected_branches: false, custom_branch_policies: true },
      branches: [{ id: 8, name: "main", type: "branch" }],
      // Not part of the policy: kept.
      waitTimer: 5,
    });
    expect(gh.state.environments.get("production-signoff")).toMatchObject({
      reviewers: [
        { type: "User", login: "dana-devops" },
        { type: "User", login: "dave-devops" },
      ],
      branches: [{ name: "main", type: "branch" }],
    });
    const put = gh.requests.find((q) => q.method === "PUT" && q.path.endsWith("/environments/production"));
    expect(put?.body).toEqual({
      wait_timer: 5,
      prevent_self_review: true,
      reviewers: [
        { type: "User", id: 2001 },
        { type: "User", id: 2002 },
      ],
      deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
      can_admins_bypass: false,
    });
  });

  it("writes nothing when nothing drifted", async () => {
    const r = await run("--apply");
    expect(r.code).toBe(0);
    expect(writes()).toEqual([]);
  });

  it("refuses a token whose user is not an admin, before writing anything: exit 2", async () => {
    gh.state.admin = false;
    prod().preventSelfReview = false;
    const r = await run("--apply");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the token is not an admin token for qualisys/platform");
    expect(r.stderr).toContain("the job's GITHUB_TOKEN can never change environments");
    expect(writes()).toEqual([]);
  });

  it("says an admin token is needed when GitHub refuses the write (403)", async () => {
    prod().preventSelfReview = false;
    gh.state.failWritesWith = 403;
    const r = await run("--apply");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("GitHub refused the update of environment production (403): --apply needs an admin token");
  });
});

describe("github-environments and release.yaml's approvals.branch", () => {
  it("holds GitHub to the configured production branch, not main: --check names the drift, --apply makes it so", async () => {
    const config = parse(await readFile(new URL("../../kubernetes/production/release.yaml", import.meta.url), "utf8"));
    config.approvals.branch = "release";
    const path = join(await mkdtemp(join(tmpdir(), "release-gate-branch-")), "release.yaml");
    await writeFile(path, stringify(config));
    const check = await run("--check", ["--config", path]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain("deployment branches: GitHub allows main, configured release only");
    const apply = await run("--apply", ["--config", path]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("is as configured (reviewers, prevent_self_review, release only, no admin bypass)");
    expect(prod().branches).toEqual([expect.objectContaining({ name: "release", type: "branch" })]);
  });
});
