/**
 * The GitHub Actions run a Dagger call comes from, as the CLI in the toolbox reads it: plain environment variables
 * (GITHUB_ACTOR, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_SERVER_URL, GITHUB_API_URL), as in any Actions job. A
 * Dagger function sees nothing of its caller's environment, so the workflow passes them to the module
 * (--github-actor, --github-run-url, --github-api-url): records made through Dagger name who triggered them and link
 * to the run, and the approvals of that run are read from the GitHub it ran on (GitHub Enterprise Server too).
 */
import { parseRunRef } from "../github/repo.ts";

/** A GitHub login (bots end in [bot]). */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;

/**
 * The REST API root of the GitHub a run's page is on, by GitHub's documented conventions: api.github.com for
 * github.com, api.SUBDOMAIN.ghe.com for GitHub Enterprise Cloud with data residency, HOST/api/v3 for GitHub
 * Enterprise Server. undefined for github.com: the CLI's default.
 */
export function apiUrlOfServer(server: string): string | undefined {
  const host = new URL(server).host.toLowerCase();
  if (host === "github.com") return undefined;
  if (host.endsWith(".ghe.com")) return `https://api.${host}`;
  return `${server.replace(/\/+$/, "")}/api/v3`;
}

/** The variables for the CLI, or the one-line reason the values cannot be used. */
export function githubContextEnv(o: {
  actor?: string;
  runUrl?: string;
  apiUrl?: string;
}): { env: Record<string, string> } | { problem: string } {
  const env: Record<string, string> = {};
  if (o.actor !== undefined) {
    if (!LOGIN.test(o.actor))
      return { problem: `--github-actor must be a GitHub login (pass $GITHUB_ACTOR), not ${JSON.stringify(o.actor.slice(0, 60))}` };
    env.GITHUB_ACTOR = o.actor;
  }
  if (o.apiUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(o.apiUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password)
      return {
        problem: `--github-api-url must be GitHub's REST API root (pass $GITHUB_API_URL), not ${JSON.stringify(o.apiUrl.slice(0, 120))}`,
      };
    env.GITHUB_API_URL = o.apiUrl;
  }
  if (o.runUrl !== undefined) {
    let run;
    try {
      run = parseRunRef(o.runUrl);
    } catch {
      return {
        problem:
          "--github-run-url must be the run's URL, $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID (or OWNER/REPO/RUN_ID), " +
          `not ${JSON.stringify(o.runUrl.slice(0, 120))}`,
      };
    }
    const server = /^(https?:\/\/[^/]+)\//.exec(o.runUrl)?.[1] ?? "https://github.com";
    Object.assign(env, { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: `${run.owner}/${run.repo}`, GITHUB_RUN_ID: String(run.runId) });
    // Without --github-api-url, the API of the server the run is on: never api.github.com for a GHES run.
    const derived = env.GITHUB_API_URL ? undefined : apiUrlOfServer(server);
    if (derived) env.GITHUB_API_URL = derived;
  }
  return { env };
}
