/**
 * Who a run is (commands/pipeline-env.ts): the record's "triggered by" and the lock holder name the same person,
 * never "unknown" when anything knows better, and an Actions run is named with its page. Nothing is sent: a
 * pipeline environment is built without touching the cluster.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipelineEnv } from "#src/commands/pipeline-env.ts";

let dir: string;
let kubeconfig: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rg-env-"));
  kubeconfig = join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1' } }]",
      "users: [{ name: u, user: { token: t } }]",
      "contexts: [{ name: x, context: { cluster: c, user: u } }]",
      "current-context: x",
    ].join("\n"),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const build = (env: NodeJS.ProcessEnv, approval?: Parameters<typeof pipelineEnv>[0]["approval"]) =>
  pipelineEnv({ kubeconfig, quiet: true, env, ...(approval ? { approval } : {}) });

describe("who runs a release", () => {
  it("a person at a terminal: USER in the record and in the lock holder", async () => {
    const env = await build({ USER: "alice" });
    expect(env.triggeredBy).toBe("alice");
    expect(env.identity).toMatch(/^alice \(.+ pid \d+\) #[0-9a-f]{8}$/);
    expect(env.ciRun).toBeUndefined();
  });

  it("an Actions job (or the Dagger toolbox given the run): the actor, and the run with its page", async () => {
    const env = await build({
      USER: "root",
      GITHUB_ACTOR: "octo-dev",
      GITHUB_REPOSITORY: "qualisys/platform",
      GITHUB_RUN_ID: "123",
      GITHUB_SERVER_URL: "https://ghe.example.com",
    });
    expect(env.triggeredBy).toBe("octo-dev");
    expect(env.identity).toMatch(/^octo-dev \(github run 123\) #/);
    expect(env.ciRun).toBe("qualisys/platform run 123 (https://ghe.example.com/qualisys/platform/actions/runs/123)");
  });

  it("no actor in the environment but a GitHub-checked approval: who started the run, in the record and the lock", async () => {
    const env = await build(
      { USER: "root" },
      {
        source: "github",
        approvers: [{ login: "dana-devops" }, { login: "tina-tech" }],
        actor: "octo-dev",
        triggeringActor: "rerun-rita",
        runUrl: "https://github.com/qualisys/platform/actions/runs/7",
      },
    );
    expect(env.triggeredBy).toBe("rerun-rita");
    expect(env.identity).toMatch(/^rerun-rita \(/);
    expect(env.ciRun).toBe("https://github.com/qualisys/platform/actions/runs/7");
  });
});
