/**
 * Each Dagger function takes the same options as the CLI command of the same name, by the same names: compared here
 * between the function's arguments as the SDK's introspector sees them and the command's commander options. Every
 * CLI command has its function (later ones, such as undo, approvals or rehearse, are held to it as soon as they
 * exist), unless listed below with the reason.
 */
import type { Command, Option } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram, isRequiredOption } from "#src/cli.ts";
import { CLUSTER_OPTIONS } from "#src/commands/support.ts";
import { runtimeLoad, type ScannedArg, type ScannedObject } from "./support/runtime-load.ts";

/** CLI commands with no function, and why. */
const CLI_ONLY: Record<string, string> = {
  "eks-token": "a kubectl credential helper for people's own kubeconfigs; the functions get EKS tokens in process",
  notify: "runs on the CI runner after the Dagger call, from the record it saved, so a failed notification never fails a release",
};
/** Functions with no CLI command, and why. */
const FUNCTION_ONLY: Record<string, string> = {
  toolbox: "a container for `dagger call toolbox terminal`; the CLI is what runs in it",
  rehearse: "builds images and runs kind through the Docker socket: it needs a Dagger engine, the CLI has nothing to build them with",
  demoApp: "an image build definition; the CLI has no images to build",
};
/** Function arguments with no CLI option of that name, and why. */
const DAGGER_ONLY: Record<string, Record<string, string>> = {
  smoke: { target: "a Dagger Service bound to the URL's host name; the CLI reaches the URL itself" },
};
/**
 * CLI options that a function takes under another name or type: a secret travels as a Secret argument, never as
 * the NAME of an environment variable (the toolbox's variable is set from the Secret).
 */
const RENAMED: Record<string, string> = { tokenEnv: "token", githubTokenEnv: "githubToken" };
/** A CLI command's function: the same name in camelCase (github-environments → githubEnvironments). */
const functionName = (command: string) => command.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
/** Options every function gets from the module instead: the connection settings are constructor arguments. */
const FROM_CONSTRUCTOR = new Set<string>(CLUSTER_OPTIONS);

/** The CLI's commands, each fully registered (the CLI registers only the invoked one fully; the others by name). */
const program = { commands: [] as Command[] };
let module: ScannedObject;
beforeAll(async () => {
  const names = (await buildProgram(["node", "release-gate"])).commands.map((c) => c.name());
  for (const name of names)
    program.commands.push((await buildProgram(["node", "release-gate", name])).commands.find((c) => c.name() === name)!);
  const r = await runtimeLoad();
  expect(r.exitCode, r.stderr).toBe(0);
  module = r.objects![0];
}, 180_000);

const commandNames = () => program.commands.map((c) => c.name());
const takesValue = (o: Option) => o.required || o.optional;

describe("Dagger functions and CLI commands", () => {
  it("every CLI command has a function of the same name, unless it is CLI-only for a stated reason", () => {
    const functions = new Set(module.functions.map((f) => f.name));
    expect(commandNames().filter((c) => !functions.has(functionName(c)) && !(c in CLI_ONLY))).toEqual([]);
    // And the other way: every function is a CLI command, unless it is function-only for a stated reason.
    expect(
      module.functions.map((f) => f.name).filter((f) => !(f in FUNCTION_ONLY) && !commandNames().map(functionName).includes(f)),
    ).toEqual([]);
  });

  it("the constructor takes every cluster option the CLI commands take", () => {
    const ctor = new Set(module.constructor.map((a) => a.name));
    const clusterOptions = new Set(
      program.commands.flatMap((c) => c.options.map((o) => o.attributeName())).filter((n) => FROM_CONSTRUCTOR.has(n)),
    );
    expect([...clusterOptions].sort()).toEqual([...FROM_CONSTRUCTOR].sort());
    for (const n of clusterOptions) expect(ctor, n).toContain(n);
  });

  describe.each([
    "deploy",
    "canary",
    "promote",
    "rollback",
    "undo",
    "status",
    "history",
    "plan",
    "smoke",
    "approvals",
    "github-environments",
  ])("%s", (name) => {
    let cmd: Command;
    let args: Map<string, ScannedArg>;
    beforeAll(() => {
      cmd = program.commands.find((c) => c.name() === name)!;
      args = new Map(module.functions.find((f) => f.name === functionName(name))!.arguments.map((a) => [a.name, a]));
    });

    it("takes each CLI option by the same name (connection settings on the constructor)", () => {
      const expected = cmd.options
        .map((o) => o.attributeName())
        .filter((n) => !FROM_CONSTRUCTOR.has(n))
        .map((n) => RENAMED[n] ?? n);
      const extra = Object.keys(DAGGER_ONLY[name] ?? {});
      expect([...args.keys()].sort()).toEqual([...expected, ...extra].sort());
    });

    it("a flag is a boolean, an option with a value is not, a required option is required, a secret is a Secret", () => {
      for (const o of cmd.options) {
        const n = o.attributeName();
        if (FROM_CONSTRUCTOR.has(n)) continue;
        const a = args.get(RENAMED[n] ?? n)!;
        if (n in RENAMED) {
          expect(a.type.name, n).toBe("Secret");
          continue;
        }
        if (takesValue(o)) expect(a.type.kind, n).not.toBe("BOOLEAN_KIND");
        else expect(a.type.kind, n).toBe("BOOLEAN_KIND");
        // Dagger makes an argument optional by `?`, null or a default value.
        const optional = a.isOptional || a.isNullable || a.defaultValue !== undefined;
        expect(optional, `${name} ${o.long}: optional`).toBe(!isRequiredOption(o));
      }
    });

    it("keeps the CLI's numeric defaults", () => {
      for (const o of cmd.options) {
        if (typeof o.defaultValue !== "number") continue;
        expect(args.get(o.attributeName())?.defaultValue, o.long).toBe(o.defaultValue);
      }
    });
  });

  it("notices a CLI option a function lacks (the check itself can fail)", () => {
    const cmd = program.commands.find((c) => c.name() === "history")!;
    const withLimit = [...cmd.options.map((o) => o.attributeName()), "limit"].filter((n) => !FROM_CONSTRUCTOR.has(n));
    const fnArgs = module.functions.find((f) => f.name === "history")!.arguments.map((a) => a.name);
    expect(withLimit.sort()).not.toEqual(fnArgs.sort());
  });
});
