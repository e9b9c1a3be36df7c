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

// ---- Command registrations: one entry per commands/<name>.ts module; append new commands here. ----
const commandModules: Array<Promise<{ register(program: Command): void }>> = [
  import("./commands/smoke.ts"),
  import("./commands/deploy.ts"),
  import("./commands/canary.ts"),
  import("./commands/promote.ts"),
  import("./commands/rollback.ts"),
  import("./commands/status.ts"),
  import("./commands/history.ts"),
  import("./commands/plan.ts"),
];
// ---- end of command registrations ----

async function buildProgram(): Promise<Command> {
  const program = new Command()
    .name("release-gate")
    .description("Canary releases to Kubernetes with smoke tests after every phase and automatic rollback.")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(redact(`release-gate: ${message.replace(/^error: /, "")}`)),
    });
  for (const command of await Promise.all(commandModules)) command.register(program);
  // Subcommands inherit the error handling (usage errors must exit 2, not commander's default 1).
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError("(add --help for usage)");
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram()).parseAsync(argv);
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
