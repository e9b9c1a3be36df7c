/**
 * The GitHub context a Dagger call passes to the module (--github-actor, --github-run-url, --github-api-url) reaches
 * the CLI in the toolbox as the plain variables of any Actions job; bad values are refused before anything runs.
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
        // GitHub Enterprise Server: its approvals are read from its own API, never api.github.com.
        GITHUB_API_URL: "https://ghe.example.com/api/v3",
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

  it("forwards GITHUB_API_URL: as given, else derived from the run's server (none for github.com: the CLI's default)", () => {
    const env = (o: Parameters<typeof githubContextEnv>[0]) =>
      "env" in githubContextEnv(o) ? (githubContextEnv(o) as { env: Record<string, string> }).env : {};
    expect(env({ runUrl: "https://github.com/qualisys/platform/actions/runs/9" }).GITHUB_API_URL).toBeUndefined();
    expect(env({ runUrl: "https://octo.ghe.com/qualisys/platform/actions/runs/9" }).GITHUB_API_URL).toBe("https://api.octo.ghe.com");
    expect(
      env({ runUrl: "https://ghe.example.com/qualisys/platform/actions/runs/9", apiUrl: "https://ghe-api.example.com/api/v3" })
        .GITHUB_API_URL,
    ).toBe("https://ghe-api.example.com/api/v3");
    expect(env({ apiUrl: "https://ghe.example.com/api/v3" })).toEqual({ GITHUB_API_URL: "https://ghe.example.com/api/v3" });
    expect(githubContextEnv({ apiUrl: "file:///etc/passwd" })).toEqual({ problem: expect.stringMatching(/^--github-api-url must be/) });
    expect(githubContextEnv({ apiUrl: "https://user:pw@ghe.example.com/api/v3" })).toEqual({
      problem: expect.stringMatching(/^--github-api-url must be/),
    });
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
    expect(connected).toContain("...(this.githubApiUrl ? { apiUrl: this.githubApiUrl } : {}),");
    expect(connected).toContain('if ("problem" in github) throw this.error(refusal(');
    expect(connected).toContain("for (const [name, value] of Object.entries(github.env)) c = c.withEnvVariable(name, value);");
  });

  it("every function that releases an image passes --github-run and the GitHub token through to the CLI, as deploy does", () => {
    const source = readFileSync(new URL("../../.dagger/src/index.ts", import.meta.url), "utf8");
    expect(source).toContain('const RELEASING = new Set(["deploy", "undo", "canary", "promote"]);');
    for (const name of ["deploy", "undo", "canary", "promote"]) {
      const start = source.indexOf(`  async ${name}(`);
      const body = source.slice(start, source.indexOf("\n  }\n", start));
      expect(body, name).toContain('if (githubRun !== undefined) args.push("--github-run", githubRun);');
      expect(body, name).toContain("secrets: githubSecret(args, githubToken)");
    }
    // rollback is never gated.
    const start = source.indexOf("  async rollback(");
    expect(source.slice(start, source.indexOf("\n  }\n", start))).not.toContain("githubRun");
  });
});
