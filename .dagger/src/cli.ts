/**
 * `release-gate <command>`: the pipeline without Dagger, and what runs inside the toolbox container. Thin on
 * purpose: each command lives in commands/<name>.ts and exports `register(program)`. Exit codes: 0 success,
 * 1 failed verdict (FailedError or anything unexpected), 2 bad usage or input (UsageError, commander errors).
 */
import { enableCompileCache } from "node:module";
import { Command, CommanderError } from "commander";
import { redact } from "./commands/common.ts";
import { exitCodeOf } from "./errors.ts";

// Node's on-disk compile cache roughly halves start-up once warm; it must be on before the commands load, which is
// why they are imported dynamically below.
enableCompileCache();

type CommandModule = { register(program: Command): void };

// ---- Command registrations: one entry per commands/<name>.ts module, keyed by the command's name; append here. ----
const commandModules: Record<string, () => Promise<CommandModule>> = {
  smoke: () => import("./commands/smoke.ts"),
  deploy: () => import("./commands/deploy.ts"),
  canary: () => import("./commands/canary.ts"),
  promote: () => import("./commands/promote.ts"),
  rollback: () => import("./commands/rollback.ts"),
  status: () => import("./commands/status.ts"),
  history: () => import("./commands/history.ts"),
  plan: () => import("./commands/plan.ts"),
  approvals: () => import("./commands/approvals.ts"),
  "github-environments": () => import("./commands/github-environments.ts"),
  notify: () => import("./commands/notify.ts"),
};
// ---- end of command registrations ----

/**
 * Only the invoked command's module is loaded (the Kubernetes client alone costs most of a second at start-up, and
 * `smoke` runs many times per release); help, no command or an unknown one loads them all.
 */
function modulesFor(argv: string[]): Array<Promise<CommandModule>> {
  const name = argv.slice(2).find((a) => !a.startsWith("-"));
  const names = name && Object.hasOwn(commandModules, name) ? [name] : Object.keys(commandModules);
  return names.map((n) => commandModules[n]());
}

async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command()
    .name("release-gate")
    .description("Canary releases to Kubernetes with smoke tests after every phase and automatic rollback.")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(redact(`release-gate: ${message.replace(/^error: /, "")}`)),
    });
  for (const command of await Promise.all(modulesFor(argv))) command.register(program);
  // Subcommands inherit the error handling (usage errors must exit 2, not commander's default 1).
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError("(add --help for usage)");
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (or the help).
      return err.exitCode === 0 ? 0 : 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(redact(`release-gate: ${message}\n`));
    return exitCodeOf(err);
  }
}

// exitCode, not exit(): stdout must drain before the process ends (large --json reports through pipes).
process.exitCode = await main(process.argv);
