/**
 * The GitHub REST client (Octokit) and what every GitHub command shares: where the API is, the token, and one
 * clear line for every way a call can fail. A failure to ask GitHub is "could not check" (exit 2), never a verdict.
 */
import { Octokit } from "@octokit/rest";
import { UsageError } from "../errors.ts";

export const DEFAULT_API_URL = "https://api.github.com";
/** Per request: GitHub answers in well under a second; a stalled connection must not hold a release. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface GitHubAccess {
  /** API root, e.g. https://api.github.com or https://ghe.example.com/api/v3 (GITHUB_API_URL in Actions). */
  apiUrl: string;
  token: string;
}

export interface GitHub {
  octokit: Octokit;
  apiUrl: string;
  /**
   * Runs one API call, turning any failure into a UsageError that names `what` and never the token; `denied`
   * replaces the generic advice for 403/404 (e.g. that a write needs an admin token).
   */
  call<T>(what: string, fn: (request: { signal: AbortSignal }) => Promise<{ data: T }>, denied?: string): Promise<T>;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export function gitHubClient(access: GitHubAccess): GitHub {
  const apiUrl = access.apiUrl.replace(/\/+$/, "");
  const octokit = new Octokit({ auth: access.token, baseUrl: apiUrl, userAgent: "release-gate", log: silent });
  return {
    octokit,
    apiUrl,
    async call(what, fn, denied) {
      try {
        return (await fn({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).data;
      } catch (err) {
        const status = (err as OctokitFailure).status;
        if (denied && (err as OctokitFailure).response && (status === 403 || status === 404)) {
          throw new UsageError(`GitHub refused ${what} (${status}): ${denied}`);
        }
        throw new UsageError(describeFailure(what, apiUrl, err));
      }
    },
  };
}

interface OctokitFailure {
  status?: number;
  message?: string;
  name?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
  cause?: { code?: string; cause?: { code?: string } };
}

/** One line: what was asked, what GitHub (or the network) answered, and what to check. */
export function describeFailure(what: string, apiUrl: string, err: unknown): string {
  const e = (err ?? {}) as OctokitFailure;
  if (!e.response) {
    const code = e.name === "AbortError" || e.name === "TimeoutError" ? "timed out" : (e.cause?.cause?.code ?? e.cause?.code ?? e.message);
    return `could not reach GitHub at ${apiUrl} to read ${what} (${code ?? "network error"}): check GITHUB_API_URL and the network`;
  }
  const apiMessage = (e.response.data as { message?: unknown } | undefined)?.message;
  const said = typeof apiMessage === "string" && apiMessage ? `: ${apiMessage.slice(0, 200)}` : "";
  switch (e.status) {
    case 401:
      return `GitHub refused the token while reading ${what} (401${said}): the token in GITHUB_TOKEN is missing, expired or revoked`;
    case 403:
      return e.response.headers?.["x-ratelimit-remaining"] === "0"
        ? `GitHub's rate limit is exhausted (403) while reading ${what}: retry after ${e.response.headers?.["x-ratelimit-reset"] ?? "the reset"}`
        : `GitHub denied ${what} (403${said}): the token lacks the permission this needs`;
    case 404:
      return `GitHub found no ${what} (404${said}): check the repository and id, and that the token can see the repository`;
    default:
      return `GitHub answered ${e.status ?? "an error"} while reading ${what}${said}`;
  }
}

/** The token from the environment, or a refusal naming the variable (its value is never printed). */
export function requireToken(env: NodeJS.ProcessEnv, name: string): string {
  const token = env[name];
  if (!token) {
    throw new UsageError(
      `no GitHub token: set ${name} (in GitHub Actions: env: ${name}: \${{ github.token }}); nothing was checked or changed`,
    );
  }
  return token;
}

/** GITHUB_API_URL as Actions sets it, else github.com's API; must be http(s). */
export function apiUrlFrom(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = given ?? env.GITHUB_API_URL ?? DEFAULT_API_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`the GitHub API URL ${JSON.stringify(url)} is not a URL (e.g. ${DEFAULT_API_URL})`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new UsageError(`the GitHub API URL must be http(s), not ${parsed.protocol}`);
  return url;
}
