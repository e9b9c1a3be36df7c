/**
 * The GitHub Actions run a Dagger call comes from, as the CLI in the toolbox reads it: plain environment variables
 * (GITHUB_ACTOR, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_SERVER_URL), as in any Actions job. A Dagger function
 * sees nothing of its caller's environment, so the workflow passes them to the module (--github-actor,
 * --github-run-url) and records made through Dagger name who triggered them and link to the run.
 */
import { parseRunRef } from "../github/repo.ts";

/** A GitHub login (bots end in [bot]). */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;

/** The variables for the CLI, or the one-line reason the values cannot be used. */
export function githubContextEnv(o: { actor?: string; runUrl?: string }): { env: Record<string, string> } | { problem: string } {
  const env: Record<string, string> = {};
  if (o.actor !== undefined) {
    if (!LOGIN.test(o.actor))
      return { problem: `--github-actor must be a GitHub login (pass $GITHUB_ACTOR), not ${JSON.stringify(o.actor.slice(0, 60))}` };
    env.GITHUB_ACTOR = o.actor;
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
  }
  return { env };
}
