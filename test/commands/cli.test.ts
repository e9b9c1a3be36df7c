/**
 * The CLI's flags and help through the real bin: --version, "did you mean …?" after a typo, examples in every
 * command's --help, history --limit, and start-up that loads only what the command uses.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendHistory } from "#src/audit/history.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { commandCatalog } from "#src/commands/catalog.ts";
import { bin } from "../support/bin.ts";
import { startHarness } from "../support/pipeline-harness.ts";
import { BIN, releaseGate } from "../support/run-cli.ts";
import { healthyRoutes, startApp } from "../support/smoke-app.ts";

const NAMES = Object.keys(commandCatalog);
const version = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version as string;

describe("release-gate --version", () => {
  it.each([["--version"], ["-V"]])("%s prints the package version", async (flag) => {
    const r = await releaseGate([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(version);
  });
});

describe("a typo suggests what was meant (exit 2, nothing run)", () => {
  it.each([
    [["deplyo", "--tag", "1.4.2"], "unknown command 'deplyo'", "(Did you mean deploy?)"],
    [["histroy"], "unknown command 'histroy'", "(Did you mean history?)"],
    [["smoke", "--url", "https://app.qualisys.io", "--tokn-env", "T"], "unknown option '--tokn-env'", "(Did you mean --token-env?)"],
    [["plan", "--tag", "1.4.2", "--jsn"], "unknown option '--jsn'", "(Did you mean --json?)"],
    [["deploy", "--tag", "1.4.2", "--skip-canray"], "unknown option '--skip-canray'", "(Did you mean --skip-canary?)"],
    [["history", "--limt", "3"], "unknown option '--limt'", "(Did you mean --limit?)"],
    // A typo on a required option: the typo is what is wrong, not the option it misses.
    [["deploy", "--tga", "1.4.2"], "unknown option '--tga'", "(Did you mean --tag?)"],
    [["smoke", "--ulr", "https://app.qualisys.io"], "unknown option '--ulr'", "(Did you mean --url?)"],
  ])("%j", async (args, error, suggestion) => {
    const r = await releaseGate(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`release-gate: ${error}\n${suggestion}`);
    expect(r.stdout).toBe("");
  });
});

describe("--help", () => {
  it("lists every command with its summary, then examples, the environment and the exit codes", async () => {
    const r = await releaseGate(["--help"]);
    expect(r.code).toBe(0);
    for (const [name, { summary }] of Object.entries(commandCatalog))
      expect(r.stdout).toMatch(new RegExp(`^  ${name} +${summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "m"));
    expect(r.stdout).toContain("Examples:\n  release-gate smoke --url https://app.qualisys.io");
    expect(r.stdout).toContain("RELEASE_GATE_RESOLVE");
    expect(r.stdout).toContain("Exit codes: 0 success, 1 failed");
  });

  it.each(NAMES)("%s --help shows its options and examples of itself", async (name) => {
    const r = await releaseGate([name, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: release-gate ${name} [options]`);
    const examples = r.stdout.slice(r.stdout.indexOf("\nExamples:\n"));
    expect(examples.length, "no Examples: section").toBeGreaterThan(12);
    expect(examples).toMatch(new RegExp(`^  release-gate ${name}\\b`, "m"));
  });

  it("help <command> is the command's own help", async () => {
    const r = await releaseGate(["help", "history"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--limit <n>");
  });
});

describe("the command catalog", () => {
  it("names every command module, and each module registers the command it is listed as", async () => {
    const modules = readdirSync(new URL("../../.dagger/src/commands/", import.meta.url))
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => /^export function register\(/m.test(readFileSync(new URL(`../../.dagger/src/commands/${f}`, import.meta.url), "utf8")))
      .map((f) => f.replace(/\.ts$/, ""));
    expect([...NAMES].sort()).toEqual(modules.sort());
    for (const [name, entry] of Object.entries(commandCatalog)) {
      const program = new Command();
      (await entry.load()).register(program);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
    }
  });
});

describe("the options of the commands that release an image", () => {
  const SOURCES = new URL("../../.dagger/src/commands/", import.meta.url);
  const declaring = (flag: string) =>
    readdirSync(SOURCES)
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => readFileSync(new URL(f, SOURCES), "utf8").includes(`"${flag}`));

  it("are declared in one place (commands/release-env.ts), not once per command", () => {
    // smoke, approvals and github-environments have a --token-env of their own (another token): not the smoke-test token's.
    const smokeToken = readdirSync(SOURCES)
      .filter((f) => f.endsWith(".ts"))
      .filter((f) =>
        /"--token-env <name>",\s*"NAME of the environment variable holding the smoke-test bearer token"/.test(
          readFileSync(new URL(f, SOURCES), "utf8"),
        ),
      );
    expect(smokeToken).toEqual(["release-env.ts"]);
    expect(declaring("--github-run <run>")).toEqual(["release-env.ts"]);
    expect(declaring("--github-token-env <name>")).toEqual(["release-env.ts"]);
  });

  it("read the same in deploy, undo, canary and promote", async () => {
    const optionsOf = async (name: string) => {
      const program = new Command();
      (await commandCatalog[name]!.load()).register(program);
      const cmd = program.commands[0]!;
      return Object.fromEntries(
        ["--token-env", "--github-run", "--github-token-env"].flatMap((flag) => {
          const o = cmd.options.find((x) => x.long === flag);
          return o
            ? [
                [
                  flag,
                  {
                    flags: o.flags,
                    description: o.description.replace(/this (release|undo|canary step|promotion)/, "this …"),
                    default: o.defaultValue,
                  },
                ],
              ]
            : [];
        }),
      );
    };
    const [deploy, undo, canary, promote] = await Promise.all(["deploy", "undo", "canary", "promote"].map(optionsOf));
    expect(Object.keys(deploy!)).toEqual(["--token-env", "--github-run", "--github-token-env"]);
    expect(undo).toEqual(deploy);
    // canary --weight 100 then promote releases an image: the same two-person gate, by the same options.
    expect(canary).toEqual(deploy);
    expect(promote).toEqual(deploy);
  });
});

describe("start-up loads only what the command uses", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rg-startup-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The packages (node_modules/<name>) a bin run loaded. */
  async function packagesLoaded(args: string[], env: Record<string, string> = {}): Promise<Set<string>> {
    const log = join(dir, `${Math.random().toString(36).slice(2)}.log`);
    const hook = new URL("../support/loaded-modules.ts", import.meta.url).href;
    const r = await execa(process.execPath, ["--import", hook, BIN, ...args], {
      reject: false,
      env: { ...env, PATH: process.env.PATH, LOADED_MODULES_LOG: log },
      extendEnv: false,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const urls = (await readFile(log, "utf8")).split("\n");
    return new Set(urls.flatMap((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  }

  it("--help loads no command's dependencies: commander only", async () => {
    expect([...(await packagesLoaded(["--help"]))]).toEqual(["commander"]);
  });

  it("a pipeline command's own --help loads commander only: the Kubernetes client is loaded by the action", async () => {
    for (const command of ["deploy", "canary", "promote", "rollback", "undo", "status", "history", "plan"])
      expect([...(await packagesLoaded([command, "--help"]))], command).toEqual(["commander"]);
  });

  it("smoke with the built-in suite loads neither the Kubernetes client nor the suite schema (zod, yaml); --suite loads those", async () => {
    const app = await startApp(healthyRoutes("tok"));
    try {
      const plain = await packagesLoaded(["smoke", "--url", app.url], { SMOKE_TEST_TOKEN: "tok" });
      expect(plain).toContain("undici");
      for (const heavy of ["@kubernetes/client-node", "zod", "yaml"]) expect(plain).not.toContain(heavy);
      const suite = join(dir, "suite.yaml");
      await writeFile(suite, "name: s\nchecks:\n  - name: health\n    path: /api/health\n");
      const withSuite = await packagesLoaded(["smoke", "--url", app.url, "--suite", suite]);
      expect(withSuite).toContain("zod");
      expect(withSuite).toContain("yaml");
      expect(withSuite).not.toContain("@kubernetes/client-node");
    } finally {
      await app.close();
    }
  });
});

describe("history --limit N", () => {
  it("prints only the newest N records; 0 or a non-number is refused (exit 2)", async () => {
    const h = await startHarness({});
    try {
      const record = (tag: string, startedAt: string): ReleaseRecord => ({
        id: `r-${tag}`,
        command: "deploy",
        namespace: "production",
        tag,
        triggeredBy: "test",
        startedAt,
        outcome: "succeeded",
        services: [],
        steps: [],
      });
      for (const [i, tag] of ["1.1.0", "1.2.0", "1.3.0"].entries()) {
        await appendHistory(h.env.kube, "production", record(tag, `2026-01-0${i + 1}T10:00:00Z`), 20);
      }
      const two = await bin(h, ["history", "--limit", "2", "--json"]);
      expect(two.code, two.stderr).toBe(0);
      expect(JSON.parse(two.stdout).map((r: ReleaseRecord) => r.tag)).toEqual(["1.3.0", "1.2.0"]);
      const all = await bin(h, ["history", "--json"]);
      expect(JSON.parse(all.stdout)).toHaveLength(3);
      const table = await bin(h, ["history", "--limit", "1"]);
      expect(table.stdout).toContain("`1.3.0`");
      expect(table.stdout).not.toContain("`1.2.0`");
      for (const bad of ["0", "-1", "two"]) {
        const r = await bin(h, ["history", "--limit", bad]);
        expect(r.code, bad).toBe(2);
        expect(r.stderr).toContain("option '--limit <n>' argument");
      }
    } finally {
      await h.stop();
    }
  }, 120_000);
});
