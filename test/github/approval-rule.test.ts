/** The two-person rule as a pure function, and naming a run: the cases a stand-in server cannot make cheaply. */
import { describe, expect, it } from "vitest";
import { evaluateApprovals, type RunApproval } from "#src/github/approval-rule.ts";
import { parseRunRef, runFromActionsEnv } from "#src/github/repo.ts";

const envs = [
  { name: "production-signoff", reviewers: ["Dana-DevOps", "dave-devops"] },
  { name: "production", reviewers: ["tina-tech", "dana-devops"] },
];
const ok = (user: string, ...environments: string[]): RunApproval => ({
  state: "approved",
  user: { login: user },
  environments: environments.map((name) => ({ name })),
});

describe("evaluateApprovals", () => {
  it("compares logins case-insensitively, as GitHub does", () => {
    const v = evaluateApprovals(envs, { actor: "x" }, [ok("dana-devops", "production-signoff"), ok("TINA-tech", "PRODUCTION")]);
    expect(v.satisfied).toBe(true);
  });

  it("finds a distinct assignment when the first candidate would block the second environment", () => {
    // dana could count for either; only dana approved production, so dave must be counted for signoff.
    const v = evaluateApprovals(envs, {}, [ok("dana-devops", "production-signoff", "production"), ok("dave-devops", "production-signoff")]);
    expect(v.approvers).toEqual([
      { environment: "production-signoff", login: "dave-devops" },
      { environment: "production", login: "dana-devops" },
    ]);
  });

  it("no approvals at all: every environment is missing", () => {
    const v = evaluateApprovals(envs, {}, []);
    expect(v.satisfied).toBe(false);
    expect(v.problems).toHaveLength(2);
    expect(v.approvers).toEqual([]);
  });

  it("a rejection fails the rule even when every environment is approved", () => {
    const v = evaluateApprovals(envs, {}, [
      ok("dana-devops", "production-signoff"),
      ok("tina-tech", "production"),
      { state: "rejected", user: { login: "dave-devops" }, environments: [{ name: "production-signoff" }] },
    ]);
    expect(v.satisfied).toBe(false);
    expect(v.approvers).toEqual([]);
  });

  it("the triggering actor is excluded as well as the actor", () => {
    const v = evaluateApprovals(envs, { actor: "someone", triggeringActor: "tina-tech" }, [
      ok("dana-devops", "production-signoff"),
      ok("tina-tech", "production"),
    ]);
    expect(v.satisfied).toBe(false);
  });
});

describe("naming a run", () => {
  it.each([
    ["qualisys/platform/16042", { owner: "qualisys", repo: "platform", runId: 16042 }],
    ["https://github.com/qualisys/platform/actions/runs/16042", { owner: "qualisys", repo: "platform", runId: 16042 }],
    ["https://github.com/qualisys/platform/actions/runs/16042/attempts/2", { owner: "qualisys", repo: "platform", runId: 16042 }],
    ["https://github.com/qualisys/my.repo_1/actions/runs/7/job/99", { owner: "qualisys", repo: "my.repo_1", runId: 7 }],
  ])("%s", (text, expected) => {
    expect(parseRunRef(text)).toEqual(expected);
  });

  it.each(["qualisys/platform", "qualisys/platform/abc", "https://github.com/qualisys/platform/pull/3", "../x/1"])(
    "refuses %s (exit 2)",
    (text) => {
      expect(() => parseRunRef(text)).toThrow(expect.objectContaining({ exitCode: 2 }));
    },
  );

  it("from the Actions environment, only with both variables", () => {
    expect(runFromActionsEnv({ GITHUB_REPOSITORY: "qualisys/platform", GITHUB_RUN_ID: "5" })).toEqual({
      owner: "qualisys",
      repo: "platform",
      runId: 5,
    });
    expect(runFromActionsEnv({ GITHUB_REPOSITORY: "qualisys/platform" })).toBeUndefined();
  });
});
