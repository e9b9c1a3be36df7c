/**
 * A stand-in for GitHub's REST API on 127.0.0.1, answering the endpoints release-gate calls with the response
 * shapes of GitHub's documentation (workflow runs, run approvals, environments, deployment branch policies,
 * users, repositories), including its error bodies. It records every request so tests can see what was asked,
 * with which token, and what was written.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const OWNER = "qualisys";
export const REPO = "platform";

export interface FakeUser {
  login: string;
  id: number;
}

export interface FakeRun {
  id: number;
  actor: string;
  triggeringActor: string;
  attempt: number;
  /** GitHub's run fields, by default those of a production release in progress: in_progress, the production workflow, workflow_dispatch, main. */
  status?: string;
  path?: string;
  event?: string;
  headBranch?: string;
  /** The run's title; by default the production workflow's run-name for tag 1.1.0, the tag these tests release. */
  displayTitle?: string;
}

export interface FakeApproval {
  state: "approved" | "rejected" | "pending";
  user: string;
  environments: string[];
  comment?: string;
}

export interface FakeEnvironment {
  name: string;
  reviewers: Array<{ type: "User"; login: string } | { type: "Team"; slug: string }>;
  preventSelfReview: boolean;
  canAdminsBypass: boolean;
  /** null: all branches; otherwise GitHub's two flags. */
  branchPolicy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
  branches: Array<{ id: number; name: string; type: "branch" | "tag" }>;
  waitTimer?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body?: unknown;
}

export interface FakeGitHub {
  url: string;
  token: string;
  requests: RecordedRequest[];
  state: {
    admin: boolean;
    users: FakeUser[];
    runs: FakeRun[];
    approvals: Map<number, FakeApproval[]>;
    environments: Map<string, FakeEnvironment>;
    /** Answer every request with this status (GitHub's error body), e.g. 401, 403, 404, 500. */
    failWith?: number;
    /** Answer writes (PUT/POST/DELETE) with this status. */
    failWritesWith?: number;
  };
  close(): Promise<void>;
}

const user = (u: FakeUser) => ({
  login: u.login,
  id: u.id,
  node_id: `U_${u.id}`,
  avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
  url: `https://api.github.com/users/${u.login}`,
  html_url: `https://github.com/${u.login}`,
  type: "User",
  site_admin: false,
});

const ERRORS: Record<number, string> = {
  401: "Bad credentials",
  403: "Resource not accessible by integration",
  404: "Not Found",
  422: "Validation Failed",
  500: "Server Error",
};

function send(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "x-github-api-version-selected": "2022-11-28",
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
  });
  res.end(text);
}

function error(res: ServerResponse, status: number): void {
  send(res, status, { message: ERRORS[status] ?? "Error", documentation_url: "https://docs.github.com/rest", status: String(status) });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

/** A production-signoff / production pair as release.yaml configures it, all as it must be. */
export function compliantEnvironments(): Map<string, FakeEnvironment> {
  const env = (name: string, logins: string[], firstBranchId: number): FakeEnvironment => ({
    name,
    reviewers: logins.map((login) => ({ type: "User", login })),
    preventSelfReview: true,
    canAdminsBypass: false,
    branchPolicy: { protected_branches: false, custom_branch_policies: true },
    branches: [{ id: firstBranchId, name: "main", type: "branch" }],
  });
  return new Map([
    ["production-signoff", env("production-signoff", ["dana-devops", "dave-devops"], 101)],
    ["production", env("production", ["tina-tech", "tom-tech"], 201)],
  ]);
}

export const USERS: FakeUser[] = [
  { login: "dana-devops", id: 1001 },
  { login: "dave-devops", id: 1002 },
  { login: "tina-tech", id: 2001 },
  { login: "tom-tech", id: 2002 },
  { login: "alice-dev", id: 3001 },
  { login: "eve", id: 6666 },
];

export async function startFakeGitHub(token = "ghp_fakeTokenForTests0123456789abcdefABCD"): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const state: FakeGitHub["state"] = {
    admin: true,
    users: [...USERS],
    runs: [{ id: 16042, actor: "alice-dev", triggeringActor: "alice-dev", attempt: 1 }],
    approvals: new Map(),
    environments: compliantEnvironments(),
  };
  let nextBranchId = 900;
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const environmentBody = (e: FakeEnvironment) => {
    const rules: unknown[] = [];
    if (e.waitTimer !== undefined) rules.push({ id: 1, node_id: "GA_1", type: "wait_timer", wait_timer: e.waitTimer });
    if (e.reviewers.length) {
      rules.push({
        id: 2,
        node_id: "GA_2",
        type: "required_reviewers",
        prevent_self_review: e.preventSelfReview,
        reviewers: e.reviewers.map((r) =>
          r.type === "User"
            ? { type: "User", reviewer: user(state.users.find((u) => u.login === r.login) ?? { login: r.login, id: 1 }) }
            : { type: "Team", reviewer: { id: 7, node_id: "T_7", name: r.slug, slug: r.slug, privacy: "closed", permission: "pull" } },
        ),
      });
    }
    if (e.branchPolicy) rules.push({ id: 3, node_id: "GA_3", type: "branch_policy" });
    return {
      id: 56780428,
      node_id: "MDExOkVudmlyb25tZW50NTY3ODA0Mjg=",
      name: e.name,
      url: `https://api.github.com/repos/${OWNER}/${REPO}/environments/${e.name}`,
      html_url: `https://github.com/${OWNER}/${REPO}/deployments/activity_log?environments_filter=${e.name}`,
      created_at: "2026-01-05T10:00:00Z",
      updated_at: "2026-01-05T10:00:00Z",
      can_admins_bypass: e.canAdminsBypass,
      protection_rules: rules,
      deployment_branch_policy: e.branchPolicy,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const body = ["PUT", "POST", "PATCH"].includes(method) ? await readJson(req) : undefined;
    requests.push({ method, path: url.pathname, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), body });
    if (state.failWith) return error(res, state.failWith);
    if (req.headers.authorization !== `token ${token}` && req.headers.authorization !== `Bearer ${token}`) return error(res, 401);
    if (method !== "GET" && state.failWritesWith) return error(res, state.failWritesWith);
    const segs = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);

    if (segs[0] === "users" && segs.length === 2) {
      const u = state.users.find((x) => x.login.toLowerCase() === segs[1]!.toLowerCase());
      return u ? send(res, 200, user(u)) : error(res, 404);
    }
    if (segs[0] !== "repos" || segs[1] !== OWNER || segs[2] !== REPO) return error(res, 404);
    const rest = segs.slice(3);
    if (rest.length === 0) {
      return send(res, 200, {
        id: 1296269,
        node_id: "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        name: REPO,
        full_name: `${OWNER}/${REPO}`,
        private: true,
        owner: user({ login: OWNER, id: 42 }),
        html_url: `https://github.com/${OWNER}/${REPO}`,
        default_branch: "main",
        permissions: { admin: state.admin, maintain: state.admin, push: true, triage: true, pull: true },
      });
    }
    if (rest[0] === "actions" && rest[1] === "runs" && rest.length >= 3) {
      const run = state.runs.find((r) => String(r.id) === rest[2]);
      if (!run) return error(res, 404);
      const actor = state.users.find((u) => u.login === run.actor) ?? { login: run.actor, id: 5 };
      const triggering = state.users.find((u) => u.login === run.triggeringActor) ?? { login: run.triggeringActor, id: 6 };
      if (rest.length === 3) {
        return send(res, 200, {
          id: run.id,
          name: "Deploy to production",
          node_id: "WFR_1",
          head_branch: run.headBranch ?? "main",
          display_title: run.displayTitle ?? "deploy 1.1.0",
          head_sha: "acb5820ced9479c074f688cc328bf03f341a511d",
          path: run.path ?? ".github/workflows/deploy-production.yml",
          run_number: 562,
          event: run.event ?? "workflow_dispatch",
          status: run.status ?? "in_progress",
          conclusion: run.status === "completed" ? "success" : null,
          workflow_id: 159038,
          url: `https://api.github.com/repos/${OWNER}/${REPO}/actions/runs/${run.id}`,
          html_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.id}`,
          created_at: "2026-01-05T10:00:00Z",
          updated_at: "2026-01-05T10:05:00Z",
          actor: user(actor),
          triggering_actor: user(triggering),
          run_attempt: run.attempt,
          run_started_at: "2026-01-05T10:00:00Z",
        });
      }
      if (rest.length === 4 && rest[3] === "approvals") {
        return send(
          res,
          200,
          (state.approvals.get(run.id) ?? []).map((a) => ({
            state: a.state,
            comment: a.comment ?? "",
            user: user(state.users.find((u) => u.login === a.user) ?? { login: a.user, id: 9 }),
            environments: a.environments.map((name, i) => ({
              id: 161088068 + i,
              node_id: "EN_1",
              name,
              url: `https://api.github.com/repos/${OWNER}/${REPO}/environments/${name}`,
              html_url: `https://github.com/${OWNER}/${REPO}/deployments/activity_log?environments_filter=${name}`,
              created_at: "2026-01-05T10:00:00Z",
              updated_at: "2026-01-05T10:00:00Z",
            })),
          })),
        );
      }
      return error(res, 404);
    }
    if (rest[0] === "environments" && rest.length >= 2) {
      const name = rest[1]!;
      const env = state.environments.get(name);
      if (rest.length === 2) {
        if (method === "GET") return env ? send(res, 200, environmentBody(env)) : error(res, 404);
        if (method === "PUT") {
          const b = (body ?? {}) as {
            prevent_self_review?: boolean;
            reviewers?: Array<{ type: string; id: number }>;
            deployment_branch_policy?: FakeEnvironment["branchPolicy"];
            can_admins_bypass?: boolean;
            wait_timer?: number;
          };
          const next: FakeEnvironment = env ?? {
            name,
            reviewers: [],
            preventSelfReview: false,
            canAdminsBypass: true,
            branchPolicy: null,
            branches: [],
          };
          if (b.reviewers) {
            next.reviewers = b.reviewers.map((r) => ({
              type: "User",
              login: state.users.find((u) => u.id === r.id)?.login ?? `id-${r.id}`,
            }));
          }
          if (b.prevent_self_review !== undefined) next.preventSelfReview = b.prevent_self_review;
          if (b.can_admins_bypass !== undefined) next.canAdminsBypass = b.can_admins_bypass;
          if (b.deployment_branch_policy !== undefined) next.branchPolicy = b.deployment_branch_policy;
          if (b.wait_timer !== undefined) next.waitTimer = b.wait_timer;
          state.environments.set(name, next);
          return send(res, 200, environmentBody(next));
        }
      }
      if (!env) return error(res, 404);
      if (rest[2] === "deployment-branch-policies") {
        if (rest.length === 3 && method === "GET") {
          return send(res, 200, {
            total_count: env.branches.length,
            branch_policies: env.branches.map((b) => ({
              id: b.id,
              node_id: `MDE2OkdhdGVCcmFuY2hQb2xpY3ky${b.id}`,
              name: b.name,
              type: b.type,
            })),
          });
        }
        if (rest.length === 3 && method === "POST") {
          const b = body as { name: string; type?: "branch" | "tag" };
          const created = { id: nextBranchId++, name: b.name, type: b.type ?? "branch" };
          env.branches.push(created);
          return send(res, 200, { ...created, node_id: "N" });
        }
        if (rest.length === 4 && method === "DELETE") {
          const before = env.branches.length;
          env.branches = env.branches.filter((b) => String(b.id) !== rest[3]);
          if (env.branches.length === before) return error(res, 404);
          res.writeHead(204).end();
          return;
        }
      }
    }
    return error(res, 404);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    get url() {
      return base();
    },
    token,
    requests,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Both environments approved by two different listed reviewers: the rule holds. */
export function goodApprovals(): FakeApproval[] {
  return [
    { state: "approved", user: "dana-devops", environments: ["production-signoff"], comment: "infra ok" },
    { state: "approved", user: "tina-tech", environments: ["production"], comment: "ship it" },
  ];
}
