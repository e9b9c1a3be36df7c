/**
 * GitHub environments as code: what each environment of release.yaml's `approvals:` must be on GitHub, the
 * drift between that and GitHub's settings (every difference named), and --apply making GitHub so.
 *
 * The policy is fixed, not configurable: exactly the configured reviewers (users), prevent_self_review on,
 * deployment branches limited to the production branch (release.yaml approvals.branch, default `main`) by a custom
 * branch policy, administrators unable to bypass.
 */
import { UsageError } from "../errors.ts";
import type { ApprovalsConfig } from "../config/schema.ts";
import type { GitHub } from "./client.ts";
import type { RepoRef } from "./repo.ts";

/** The production branch when none is configured (the schema's default for approvals.branch). */
export const DEPLOY_BRANCH = "main";

/** The fields of GET /repos/{owner}/{repo}/environments/{name} the check reads. */
export interface LiveEnvironment {
  name: string;
  /** Not in GitHub's OpenAPI description, but returned and accepted by the API (Terraform's provider uses it). */
  can_admins_bypass?: boolean;
  protection_rules?: Array<{
    type: string;
    wait_timer?: number;
    prevent_self_review?: boolean;
    reviewers?: Array<{ type?: string; reviewer?: { login?: string; slug?: string; name?: string } | null }>;
  }>;
  deployment_branch_policy?: { protected_branches: boolean; custom_branch_policies: boolean } | null;
}

export interface BranchPolicy {
  id?: number;
  name?: string;
  type?: string;
}

export interface EnvironmentState {
  name: string;
  /** undefined: GitHub has no such environment. */
  live?: LiveEnvironment;
  branchPolicies: BranchPolicy[];
}

export interface EnvironmentDrift {
  environment: string;
  drift: string[];
}

const lower = (s: string) => s.toLowerCase();

/** Every way `state` differs from what `reviewers` and the fixed policy require; empty when none. */
export function environmentDrift(reviewers: string[], state: EnvironmentState, branch: string = DEPLOY_BRANCH): string[] {
  const live = state.live;
  if (!live) return ["does not exist on GitHub (a workflow naming it would create it with no protection at all)"];
  const drift: string[] = [];
  const rule = live.protection_rules?.find((r) => r.type === "required_reviewers");
  const users = (rule?.reviewers ?? []).filter((r) => r.type === "User").map((r) => r.reviewer?.login ?? "?");
  const teams = (rule?.reviewers ?? []).filter((r) => r.type !== "User").map((r) => `team ${r.reviewer?.slug ?? r.reviewer?.name ?? "?"}`);
  const missing = reviewers.filter((c) => !users.some((u) => lower(u) === lower(c)));
  const extra = [...users.filter((u) => !reviewers.some((c) => lower(c) === lower(u))), ...teams];
  if (!rule || (!users.length && !teams.length)) drift.push(`required reviewers: none on GitHub, configured ${reviewers.join(", ")}`);
  else if (missing.length || extra.length) {
    drift.push(
      `required reviewers: GitHub has ${[...users, ...teams].join(", ")}, configured ${reviewers.join(", ")}` +
        ` (${[missing.length ? `missing ${missing.join(", ")}` : "", extra.length ? `not configured ${extra.join(", ")}` : ""].filter(Boolean).join("; ")})`,
    );
  }
  if (rule?.prevent_self_review !== true) drift.push("prevent_self_review is off: whoever started a run could approve it");
  const policy = live.deployment_branch_policy;
  if (!policy) drift.push(`deployment branches: any branch may deploy, configured ${branch} only`);
  else if (policy.protected_branches) drift.push(`deployment branches: every protected branch may deploy, configured ${branch} only`);
  else {
    const names = state.branchPolicies.map((b) => `${b.type === "tag" ? "tag " : ""}${b.name ?? "?"}`);
    const onlyMain =
      state.branchPolicies.length === 1 && state.branchPolicies[0]!.name === branch && state.branchPolicies[0]!.type !== "tag";
    if (!onlyMain) drift.push(`deployment branches: GitHub allows ${names.length ? names.join(", ") : "none"}, configured ${branch} only`);
  }
  if (live.can_admins_bypass === undefined)
    drift.push("administrators' bypass: GitHub did not report can_admins_bypass, so it cannot be shown off");
  else if (live.can_admins_bypass) drift.push("administrators can bypass the protection rules (can_admins_bypass is on)");
  return drift;
}

export async function readEnvironment(gh: GitHub, repo: RepoRef, name: string): Promise<EnvironmentState> {
  const { owner, repo: r } = repo;
  let live: LiveEnvironment | undefined;
  try {
    live = (await gh.octokit.rest.repos.getEnvironment({ owner, repo: r, environment_name: name })).data as LiveEnvironment;
  } catch (err) {
    if ((err as { status?: number; response?: unknown }).status === 404 && (err as { response?: unknown }).response)
      return { name, branchPolicies: [] };
    // Not a plain "absent": let the shared handler describe it (401, 403, network…).
    await gh.call(`environment ${name} of ${owner}/${r}`, () => Promise.reject(err));
  }
  let branchPolicies: BranchPolicy[] = [];
  if (live?.deployment_branch_policy?.custom_branch_policies) {
    const data = await gh.call(`the deployment branch policies of environment ${name}`, (request) =>
      gh.octokit.rest.repos.listDeploymentBranchPolicies({ owner, repo: r, environment_name: name, per_page: 100, request }),
    );
    branchPolicies = data.branch_policies;
  }
  return { name, ...(live ? { live } : {}), branchPolicies };
}

/** Checks the repository exists and is visible; returns whether the token's user is an admin of it (undefined: GitHub did not say). */
export async function readRepoAdmin(gh: GitHub, repo: RepoRef): Promise<boolean | undefined> {
  const data = await gh.call(`repository ${repo.owner}/${repo.repo}`, (request) =>
    gh.octokit.rest.repos.get({ owner: repo.owner, repo: repo.repo, request }),
  );
  return data.permissions?.admin;
}

export async function checkEnvironments(gh: GitHub, repo: RepoRef, config: ApprovalsConfig): Promise<EnvironmentDrift[]> {
  await readRepoAdmin(gh, repo);
  const out: EnvironmentDrift[] = [];
  for (const env of config.environments) {
    out.push({ environment: env.name, drift: environmentDrift(env.reviewers, await readEnvironment(gh, repo, env.name), config.branch) });
  }
  return out;
}

const ADMIN_NEEDED =
  "--apply needs an admin token for the repository (a classic personal access token with the repo scope from a repository admin, " +
  "or a fine-grained token or GitHub App with Administration: write); the job's GITHUB_TOKEN can never change environments";

/** Makes every environment as configured; refuses up front when GitHub says the token's user is not an admin. */
export async function applyEnvironments(
  gh: GitHub,
  repo: RepoRef,
  config: ApprovalsConfig,
  progress: (line: string) => void,
): Promise<void> {
  const admin = await readRepoAdmin(gh, repo);
  if (admin === false) {
    throw new UsageError(
      `the token is not an admin token for ${repo.owner}/${repo.repo} (GitHub reports admin: false); ${ADMIN_NEEDED}; nothing was changed`,
    );
  }
  const { owner, repo: r } = repo;
  const branch = config.branch;
  for (const env of config.environments) {
    const state = await readEnvironment(gh, repo, env.name);
    const drift = environmentDrift(env.reviewers, state, branch);
    if (!drift.length) {
      progress(`${env.name}: already as configured`);
      continue;
    }
    const ids: Array<{ type: "User"; id: number }> = [];
    for (const login of env.reviewers) {
      const user = await gh.call(`user ${login}`, (request) => gh.octokit.rest.users.getByUsername({ username: login, request }));
      ids.push({ type: "User", id: user.id });
    }
    // Kept as it is: the wait timer is not part of the policy.
    const waitTimer = state.live?.protection_rules?.find((p) => p.type === "wait_timer")?.wait_timer;
    await gh.call(
      `the update of environment ${env.name}`,
      (request) =>
        gh.octokit.rest.repos.createOrUpdateEnvironment({
          owner,
          repo: r,
          environment_name: env.name,
          ...(waitTimer !== undefined ? { wait_timer: waitTimer } : {}),
          prevent_self_review: true,
          reviewers: ids,
          deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
          // Accepted by the API though missing from its OpenAPI description (see LiveEnvironment).
          ...({ can_admins_bypass: false } as object),
          request,
        }),
      ADMIN_NEEDED,
    );
    const policies = (await readEnvironment(gh, repo, env.name)).branchPolicies;
    for (const p of policies) {
      if (p.name === branch && p.type !== "tag") continue;
      await gh.call(
        `the removal of deployment branch policy ${p.name} from ${env.name}`,
        (request) =>
          gh.octokit.rest.repos.deleteDeploymentBranchPolicy({
            owner,
            repo: r,
            environment_name: env.name,
            branch_policy_id: p.id!,
            request,
          }),
        ADMIN_NEEDED,
      );
    }
    if (!policies.some((p) => p.name === branch && p.type !== "tag")) {
      await gh.call(
        `adding deployment branch ${branch} to ${env.name}`,
        (request) =>
          gh.octokit.rest.repos.createDeploymentBranchPolicy({
            owner,
            repo: r,
            environment_name: env.name,
            name: branch,
            type: "branch",
            request,
          }),
        ADMIN_NEEDED,
      );
    }
    progress(`${env.name}: fixed ${drift.length} drift${drift.length === 1 ? "" : "s"}: ${drift.join("; ")}`);
  }
}

export function driftToText(repo: RepoRef, drifts: EnvironmentDrift[], branch: string = DEPLOY_BRANCH): string {
  const lines = drifts.flatMap((d) =>
    d.drift.length
      ? [`${d.environment}: ${d.drift.length} drift${d.drift.length === 1 ? "" : "s"}`, ...d.drift.map((x) => `  - ${x}`)]
      : [`${d.environment}: as configured`],
  );
  const total = drifts.reduce((n, d) => n + d.drift.length, 0);
  lines.push(
    total
      ? `${total} drift${total === 1 ? "" : "s"} in ${repo.owner}/${repo.repo}: ` +
          `release-gate github-environments --apply --repo ${repo.owner}/${repo.repo} (admin token) makes GitHub match release.yaml`
      : `every environment of ${repo.owner}/${repo.repo} is as configured (reviewers, prevent_self_review, ${branch} only, no admin bypass)`,
  );
  return lines.join("\n") + "\n";
}
