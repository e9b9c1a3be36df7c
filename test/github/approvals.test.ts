/**
 * `release-gate approvals` through the real bin against a local stand-in for GitHub's REST API: every rule of the
 * two-person check, every exit code, and the token never printed.
 */
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { releaseGate } from "../support/run-cli.ts";
import { goodApprovals, OWNER, REPO, startFakeGitHub, type FakeApproval, type FakeGitHub } from "./github-api.ts";

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await startFakeGitHub();
});
afterAll(() => gh.close());
beforeEach(() => {
  gh.state.failWith = undefined;
  gh.state.runs = [{ id: 16042, actor: "alice-dev", triggeringActor: "alice-dev", attempt: 1 }];
  gh.state.approvals = new Map();
  gh.requests.length = 0;
});

async function approvals(found: FakeApproval[] | undefined, args: string[] = [], env: Record<string, string> = {}) {
  if (found) gh.state.approvals.set(16042, found);
  const r = await releaseGate(["approvals", "--repo", `${OWNER}/${REPO}`, "--run-id", "16042", ...args], {
    GITHUB_TOKEN: gh.token,
    GITHUB_API_URL: gh.url,
    ...env,
  });
  // Whatever happened, the token is not in any output.
  expect(r.stdout + r.stderr).not.toContain(gh.token);
  expect(r.stdout + r.stderr).not.toContain(gh.token.slice(4, 20));
  return r;
}

describe("release-gate approvals: the rule", () => {
  it("exit 0 when a DevOps lead and a tech lead approved their environments: prints who approved which", async () => {
    const r = await approvals(goodApprovals());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("two-person rule satisfied for run 16042 (attempt 1) of qualisys/platform, started by alice-dev");
    expect(r.stdout).toContain("production-signoff: approved by dana-devops");
    expect(r.stdout).toContain("production: approved by tina-tech");
    expect(r.stdout).toContain("https://github.com/qualisys/platform/actions/runs/16042");
    // It read the run and its approvals, with the token, through the API root it was given.
    expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      "GET /repos/qualisys/platform/actions/runs/16042",
      "GET /repos/qualisys/platform/actions/runs/16042/approvals",
    ]);
    expect(gh.requests.every((q) => q.authorization === `token ${gh.token}`)).toBe(true);
  });

  it("--json carries the verdict and the counted approvers", async () => {
    const r = await approvals(goodApprovals(), ["--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict.satisfied).toBe(true);
    expect(out.verdict.approvers).toEqual([
      { environment: "production-signoff", login: "dana-devops" },
      { environment: "production", login: "tina-tech" },
    ]);
    expect(out.runAttempt).toBe(1);
  });

  it("exit 1 with one approval only: names what was found and what is missing", async () => {
    const r = await approvals([goodApprovals()[0]!]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("two-person rule NOT satisfied");
    expect(r.stdout).toContain("production-signoff: approved by dana-devops");
    expect(r.stdout).toContain("production: no approval");
    expect(r.stdout).toContain("production needs an approval from one of tina-tech, tom-tech");
  });

  it("exit 1 when the same person approved both environments (listed for both)", async () => {
    // One person listed in both environments, approving both at once (GitHub's review dialog allows it).
    const r = await approvals(
      [{ state: "approved", user: "dana-devops", environments: ["production-signoff", "production"] }],
      ["--config", await configWith({ production: ["tina-tech", "dana-devops"] })],
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("the same person cannot count twice (dana-devops approved production-signoff and production)");
  });

  it("passes when a person listed for both approved one and someone else the other", async () => {
    const r = await approvals(
      [
        { state: "approved", user: "dana-devops", environments: ["production-signoff", "production"] },
        { state: "approved", user: "dave-devops", environments: ["production-signoff"] },
      ],
      ["--config", await configWith({ production: ["tina-tech", "dana-devops"] })],
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("production-signoff: approved by dave-devops");
    expect(r.stdout).toContain("production: approved by dana-devops");
  });

  it("exit 1 when the run's actor approved (a listed reviewer who started the run)", async () => {
    gh.state.runs = [{ id: 16042, actor: "tina-tech", triggeringActor: "tina-tech", attempt: 1 }];
    const r = await approvals(goodApprovals());
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("production: approved by tina-tech, who started the run");
    expect(r.stdout).toContain("production needs an approval from one of tina-tech, tom-tech other than tina-tech (who started the run)");
  });

  it("exit 1 when the triggering actor of a re-run approved", async () => {
    gh.state.runs = [{ id: 16042, actor: "alice-dev", triggeringActor: "dana-devops", attempt: 2 }];
    const r = await approvals(goodApprovals());
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("(attempt 2)");
    expect(r.stdout).toContain("production-signoff: approved by dana-devops, who started the run");
  });

  it("exit 1 when an approver is not a listed reviewer", async () => {
    const r = await approvals([goodApprovals()[0]!, { state: "approved", user: "eve", environments: ["production"] }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("production: approved by eve, who is not a listed reviewer");
  });

  it("exit 1 on any rejection, even with both approvals present", async () => {
    const r = await approvals([
      ...goodApprovals(),
      { state: "rejected", user: "tom-tech", environments: ["production"], comment: "not during the sale" },
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('tom-tech rejected production ("not during the sale"): a rejection stops the release');
  });

  it("ignores pending reviews", async () => {
    const r = await approvals([...goodApprovals(), { state: "pending", user: "eve", environments: ["production"] }]);
    expect(r.code).toBe(0);
  });
});

describe("release-gate approvals: could not check (exit 2, one clear line)", () => {
  it.each([
    [401, "GitHub refused the token"],
    [403, "GitHub denied workflow run qualisys/platform run 16042 (403"],
    [404, "GitHub found no workflow run qualisys/platform run 16042 (404"],
  ])("API %i", async (status, message) => {
    gh.state.failWith = status;
    const r = await approvals(goodApprovals());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toBe("");
  });

  it("a wrong token is a 401, and the token is not quoted", async () => {
    const r = await approvals(goodApprovals(), [], { GITHUB_TOKEN: "ghp_wrongwrongwrongwrongwrong1234" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("401");
    expect(r.stderr).not.toContain("wrongwrong");
  });

  it("a run that does not exist", async () => {
    gh.state.runs = [];
    const r = await approvals([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("GitHub found no workflow run");
  });

  it("the network: nothing listening", async () => {
    const port = await closedPort();
    const r = await approvals(goodApprovals(), [], { GITHUB_API_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `could not reach GitHub at http://127.0.0.1:${port} to read workflow run qualisys/platform run 16042 (ECONNREFUSED)`,
    );
  });

  it("no token: names the variable, asks GitHub nothing", async () => {
    const r = await approvals(goodApprovals(), [], { GITHUB_TOKEN: "" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no GitHub token: set GITHUB_TOKEN");
    expect(gh.requests).toEqual([]);
  });

  it.each([
    [["--repo", "not-a-repo"], "--repo must be OWNER/REPO"],
    [["--repo", "a/b/c"], "--repo must be OWNER/REPO"],
    [["--run-id", "12abc"], "--run-id must be a workflow run id"],
    [["--run-id", "-1"], "--run-id must be a workflow run id"],
  ])("bad input %j", async (args, message) => {
    const r = await releaseGate(["approvals", "--repo", `${OWNER}/${REPO}`, "--run-id", "16042", ...args], {
      GITHUB_TOKEN: gh.token,
      GITHUB_API_URL: gh.url,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(gh.requests).toEqual([]);
  });

  it("a release.yaml without approvals: refused, naming the section", async () => {
    const r = await approvals(goodApprovals(), ["--config", await configWith(null)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has no approvals: section");
  });
});

/** The production release.yaml with the approvals section changed (null: removed). */
async function configWith(reviewers: Record<string, string[]> | null): Promise<string> {
  const doc = parse(await readFile("kubernetes/production/release.yaml", "utf8"));
  if (reviewers === null) delete doc.approvals;
  else for (const e of doc.approvals.environments) if (reviewers[e.name]) e.reviewers = reviewers[e.name];
  const path = join(await mkdtemp(join(tmpdir(), "release-gate-approvals-")), "release.yaml");
  await writeFile(path, stringify(doc));
  return path;
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
