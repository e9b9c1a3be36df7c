/**
 * The GitHub context a Dagger call passes to the module (--github-actor, --github-run-url) reaches the CLI in the
 * toolbox as the plain variables of any Actions job; bad values are refused before anything runs.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { githubContextEnv } from "#src/dagger/github-context.ts";

describe("githubContextEnv", () => {
  it("turns the actor and the run's URL into GITHUB_ACTOR, GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID", () => {
    expect(githubContextEnv({ actor: "octo-dev", runUrl: "https://ghe.example.com/qualisys/platform/actions/runs/123" })).toEqual({
      env: {
        GITHUB_ACTOR: "octo-dev",
        GITHUB_SERVER_URL: "https://ghe.example.com",
        GITHUB_REPOSITORY: "qualisys/platform",
        GITHUB_RUN_ID: "123",
      },
    });
    expect(githubContextEnv({ actor: "dependabot[bot]", runUrl: "qualisys/platform/9" })).toEqual({
      env: {
        GITHUB_ACTOR: "dependabot[bot]",
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_REPOSITORY: "qualisys/platform",
        GITHUB_RUN_ID: "9",
      },
    });
    expect(githubContextEnv({})).toEqual({ env: {} });
  });

  it("refuses what is not a login or a run", () => {
    expect(githubContextEnv({ actor: "a b; rm -rf /" })).toEqual({
      problem: expect.stringMatching(/^--github-actor must be a GitHub login/),
    });
    expect(githubContextEnv({ runUrl: "https://github.com/qualisys/platform/pulls/3" })).toEqual({
      problem: expect.stringMatching(/^--github-run-url must be the run's URL/),
    });
  });

  it("index.ts gives them to every cluster function's toolbox, and refuses bad ones before anything runs", () => {
    const source = readFileSync(new URL("../../.dagger/src/index.ts", import.meta.url), "utf8");
    const connected = source.slice(source.indexOf("private async connected("), source.indexOf("private async run("));
    expect(connected).toContain("githubContextEnv({");
    expect(connected).toContain('if ("problem" in github) throw this.error(refusal(');
    expect(connected).toContain("for (const [name, value] of Object.entries(github.env)) c = c.withEnvVariable(name, value);");
  });
});
