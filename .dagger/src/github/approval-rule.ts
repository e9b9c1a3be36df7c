/**
 * The two-person rule as a pure function of the run and its approvals, so every case is tested without GitHub.
 * Satisfied when every configured environment has an `approved` review from one of its listed reviewers, the
 * approvers counted for different environments are different people, none of them started the run (its `actor`
 * or `triggering_actor`), and nobody rejected. GitHub alone cannot say "both": one listed reviewer unblocks an
 * environment, and one person may approve several pending environments at once.
 */

export interface ApprovalEnvironment {
  name: string;
  /** GitHub logins (compared case-insensitively, as GitHub does). */
  reviewers: string[];
}

/** One entry of GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals, the fields the rule reads. */
export interface RunApproval {
  state: string;
  comment?: string | null;
  user: { login: string };
  environments: Array<{ name?: string }>;
}

export interface RunFacts {
  actor?: string;
  triggeringActor?: string;
}

export interface ApprovalVerdict {
  satisfied: boolean;
  /** Who is counted for which environment (one each when satisfied). */
  approvers: Array<{ environment: string; login: string }>;
  /** Per configured environment, what GitHub reports and why each review counts or not. */
  found: string[];
  /** What is missing or wrong; empty when satisfied. */
  problems: string[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function evaluateApprovals(environments: ApprovalEnvironment[], run: RunFacts, approvals: RunApproval[]): ApprovalVerdict {
  const starters = [run.actor, run.triggeringActor].filter((s): s is string => !!s);
  const startedRun = (login: string) => starters.some((s) => same(s, login));
  const found: string[] = [];
  const problems: string[] = [];
  const candidates: string[][] = [];

  for (const env of environments) {
    const reviews = approvals.filter((a) => a.environments.some((e) => e.name !== undefined && same(e.name, env.name)));
    const eligible: string[] = [];
    const notes: string[] = [];
    for (const r of reviews) {
      const who = r.user.login;
      if (r.state === "rejected") notes.push(`rejected by ${who}`);
      else if (r.state !== "approved") continue;
      else if (!env.reviewers.some((l) => same(l, who))) notes.push(`approved by ${who}, who is not a listed reviewer`);
      else if (startedRun(who)) notes.push(`approved by ${who}, who started the run`);
      else {
        notes.push(`approved by ${who}`);
        if (!eligible.some((l) => same(l, who))) eligible.push(who);
      }
    }
    found.push(`${env.name}: ${notes.length ? notes.join("; ") : "no approval"}`);
    candidates.push(eligible);
    if (!eligible.length) {
      problems.push(`${env.name} needs an approval from one of ${env.reviewers.join(", ")}${excluding(env.reviewers, starters)}`);
    }
  }

  for (const r of approvals.filter((a) => a.state === "rejected")) {
    const where = r.environments.map((e) => e.name ?? "?").join(", ") || "the run";
    problems.push(`${r.user.login} rejected ${where}${r.comment ? ` ("${r.comment.slice(0, 200)}")` : ""}: a rejection stops the release`);
  }

  let assignment: string[] | undefined;
  if (candidates.every((c) => c.length > 0)) {
    assignment = distinctAssignment(candidates);
    if (!assignment) problems.push(sharedApproverProblem(environments, candidates));
  }
  const satisfied = problems.length === 0 && assignment !== undefined;
  return {
    satisfied,
    approvers: satisfied ? environments.map((e, i) => ({ environment: e.name, login: assignment![i]! })) : [],
    found,
    problems,
  };
}

/** One approver per environment, all different (a tiny bipartite matching: at most 6 reviewers per environment). */
function distinctAssignment(candidates: string[][], i = 0, taken: string[] = []): string[] | undefined {
  if (i === candidates.length) return taken;
  for (const login of candidates[i]!) {
    if (taken.some((t) => same(t, login))) continue;
    const rest = distinctAssignment(candidates, i + 1, [...taken, login]);
    if (rest) return rest;
  }
  return undefined;
}

function sharedApproverProblem(environments: ApprovalEnvironment[], candidates: string[][]): string {
  const people = new Map<string, string[]>();
  candidates.forEach((c, i) =>
    c.forEach((l) => people.set(l.toLowerCase(), [...(people.get(l.toLowerCase()) ?? []), environments[i]!.name])),
  );
  const shared = [...people.entries()]
    .filter(([, envs]) => envs.length > 1)
    .map(([login, envs]) => `${login} approved ${envs.join(" and ")}`);
  return `the same person cannot count twice (${shared.join("; ")}): each environment needs a different approver`;
}

function excluding(reviewers: string[], starters: string[]): string {
  const out = reviewers.filter((r) => starters.some((s) => same(s, r)));
  return out.length ? ` other than ${out.join(", ")} (who started the run)` : "";
}
