/**
 * Start-up of the CLI as a fresh process, side by side with story 0.12's curl+jq smoke script doing the same four
 * checks against the same local service: `release-gate smoke` (goal: at most 200 ms on the development machine),
 * `release-gate --help` and a pipeline command's own `deploy --help` (goal: at most 200 ms each; the Kubernetes
 * client is loaded only by a command's action) and, for context, a bare `node` start. curl and jq are installed from Debian when absent.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { healthyRoutes, startApp } from "../test/support/smoke-app.ts";
import { medianOf, timeRuns, type BenchResult } from "./lib.ts";

const RUNS = 15;
const TOKEN = "bench-token";
const BIN = fileURLToPath(new URL("../bin/release-gate.js", import.meta.url));
const GOAL_MS = 200;

/** Story 0.12's scripts/smoke-tests.sh, as written there: one curl per check, jq or grep on each answer. */
const STORY_SCRIPT = `#!/bin/bash
set -e
BASE_URL="\${1:-https://app.qualisys.io}"
echo "Running smoke tests against $BASE_URL"
echo "Testing health endpoint..."
curl -sf "$BASE_URL/api/health" | jq -e '.status == "ok"'
echo "Testing ready endpoint..."
curl -sf "$BASE_URL/api/ready" | jq -e '.status == "ready"'
echo "Testing login page..."
curl -sf "$BASE_URL/login" | grep -q "Sign In"
echo "Testing API authentication..."
curl -sf -H "Authorization: Bearer $SMOKE_TEST_TOKEN" \\
  "$BASE_URL/api/v1/user/me" | jq -e '.id != null'
echo "All smoke tests passed!"
`;

async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of ["curl", "jq"]) if ((await execa("which", [tool], { reject: false })).exitCode !== 0) missing.push(tool);
  if (missing.length === 0) return;
  process.stderr.write(`bench: installing ${missing.join(", ")} from Debian (apt-get)…\n`);
  await execa("apt-get", ["update", "-qq"]);
  await execa("apt-get", ["install", "-y", "-qq", ...missing], { env: { DEBIAN_FRONTEND: "noninteractive" } });
}

export async function run(): Promise<BenchResult[]> {
  await ensureTools();
  const app = await startApp(healthyRoutes(TOKEN));
  const dir = await mkdtemp(join(tmpdir(), "bench-startup-"));
  try {
    const script = join(dir, "smoke-tests.sh");
    await writeFile(script, STORY_SCRIPT, { mode: 0o755 });
    const env = { PATH: process.env.PATH ?? "", SMOKE_TEST_TOKEN: TOKEN };
    const ok = (what: string) => (r: { exitCode?: number; stderr?: unknown }) => {
      if (r.exitCode !== 0) throw new Error(`${what} exited ${r.exitCode}: ${String(r.stderr)}`);
    };
    const node = (args: string[], what: string) => () =>
      execa(process.execPath, args, { env, extendEnv: false, reject: false }).then(ok(what));
    const times = await timeRuns(RUNS, {
      smoke: node([BIN, "smoke", "--url", app.url], "release-gate smoke"),
      curl: () => execa("bash", [script, app.url], { env, extendEnv: false, reject: false }).then(ok("the curl+jq script")),
      help: node([BIN, "--help"], "release-gate --help"),
      deployHelp: node([BIN, "deploy", "--help"], "release-gate deploy --help"),
      bare: node(["-e", "0"], "node -e 0"),
    });
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, medianOf(v)])) as Record<keyof typeof times, number>;
    const goal = (ms: number) => `${ms <= GOAL_MS ? "within" : "OVER"} the ${GOAL_MS} ms goal`;
    return [
      {
        name: "release-gate smoke as a fresh process (4 checks, http on 127.0.0.1)",
        medianMs: m.smoke,
        runs: RUNS,
        note: `${goal(m.smoke)}; ${(m.smoke / m.curl).toFixed(1)}x the curl+jq script`,
      },
      { name: "story 0.12's curl+jq script, the same 4 checks (4 curl, 3 jq, 1 grep)", medianMs: m.curl, runs: RUNS },
      { name: "release-gate --help as a fresh process", medianMs: m.help, runs: RUNS, note: goal(m.help) },
      {
        name: "release-gate deploy --help as a fresh process (the Kubernetes client is loaded only by the action)",
        medianMs: m.deployHelp,
        runs: RUNS,
        note: goal(m.deployHelp),
      },
      { name: "node -e 0 (the floor: Node's own start-up)", medianMs: m.bare, runs: RUNS },
    ];
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
}
