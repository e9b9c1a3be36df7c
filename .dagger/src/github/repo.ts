/** Naming a repository and a workflow run: OWNER/REPO, a run id, or the run's URL as GitHub shows it. */
import { UsageError } from "../errors.ts";

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface RunRef extends RepoRef {
  runId: number;
}

// GitHub: owners are logins (letters, digits, single hyphens); repository names also allow '.' and '_'.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

export function parseRepo(text: string, option = "--repo"): RepoRef {
  const [owner = "", repo = "", ...rest] = text.split("/");
  if (rest.length || !OWNER.test(owner) || !REPO.test(repo) || repo === "." || repo === "..") {
    throw new UsageError(`${option} must be OWNER/REPO (e.g. qualisys/platform), not ${JSON.stringify(text.slice(0, 120))}`);
  }
  return { owner, repo };
}

export function parseRunId(text: string, option = "--run-id"): number {
  const n = Number(text);
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${option} must be a workflow run id (a positive integer), not ${JSON.stringify(text.slice(0, 40))}`);
  }
  return n;
}

/**
 * `--github-run`: OWNER/REPO/RUN_ID, or the run's page as GitHub shows it
 * (https://github.com/OWNER/REPO/actions/runs/RUN_ID, optionally /attempts/N or /job/N after it).
 */
export function parseRunRef(text: string): RunRef {
  const url = /^https?:\/\/[^/]+\/([^/]+)\/([^/]+)\/actions\/runs\/([^/?#]+)(?:[/?#].*)?$/.exec(text);
  const parts = url ? [url[1]!, url[2]!, url[3]!] : text.split("/");
  if (parts.length !== 3) {
    throw new UsageError(
      `--github-run must be OWNER/REPO/RUN_ID or the run's URL (https://github.com/OWNER/REPO/actions/runs/RUN_ID), not ${JSON.stringify(text.slice(0, 120))}`,
    );
  }
  return { ...parseRepo(`${parts[0]}/${parts[1]}`, "--github-run"), runId: parseRunId(parts[2]!, "--github-run") };
}

/** The run of the GitHub Actions job this process runs in, when it runs in one. */
export function runFromActionsEnv(env: NodeJS.ProcessEnv): RunRef | undefined {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return undefined;
  return { ...parseRepo(env.GITHUB_REPOSITORY, "GITHUB_REPOSITORY"), runId: parseRunId(env.GITHUB_RUN_ID, "GITHUB_RUN_ID") };
}
