/**
 * `release-gate <command>`: the pipeline without Dagger, and what runs inside the toolbox container. Thin on
 * purpose: each command lives in commands/<name>.ts and exports `register(program)`. Exit codes: 0 success,
 * 1 failed verdict (FailedError or anything unexpected), 2 bad usage or input (UsageError, commander errors).
 */
import { Command, CommanderError } from "commander";
import { redact } from "./commands/common.ts";
import * as smoke from "./commands/smoke.ts";
import * as deploy from "./commands/deploy.ts";
import * as canary from "./commands/canary.ts";
import * as promote from "./commands/promote.ts";
import * as rollback from "./commands/rollback.ts";
import * as status from "./commands/status.ts";
import * as history from "./commands/history.ts";
import * as plan from "./commands/plan.ts";
import { exitCodeOf } from "./errors.ts";

// ---- Command registrations: one entry per commands/<name>.ts module; append new commands here. ----
const commands: Array<{ register(program: Command): void }> = [
  smoke,
  deploy,
  canary,
  promote,
  rollback,
  status,
  history,
  plan,
];
// ---- end of command registrations ----

function buildProgram(): Command {
  const program = new Command()
    .name("release-gate")
    .description("Canary releases to Kubernetes with smoke tests after every phase and automatic rollback.")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(redact(`release-gate: ${message.replace(/^error: /, "")}`)),
    });
  for (const command of commands) command.register(program);
  // Subcommands inherit the error handling (usage errors must exit 2, not commander's default 1).
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError("(add --help for usage)");
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
