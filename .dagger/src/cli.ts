/**
 * `release-gate <command>`: the pipeline without Dagger, and what runs inside the toolbox container. Thin on
 * purpose: each command lives in commands/<name>.ts and exports `register(program)`. Exit codes: 0 success,
 * 1 failed verdict (FailedError or anything unexpected), 2 bad usage or input (UsageError, commander errors).
 *
 * Importing this file does nothing: `bin/release-gate.js` calls main(). The Dagger runtime imports every file under
 * .dagger/src before it calls a function, so a file here that ran the CLI on import would break every `dagger call`.
 */
import { Command, CommanderError } from "commander";
import { commandCatalog, programHelp, programVersion } from "./commands/catalog.ts";
import { redact } from "./commands/common.ts";
import { exitCodeOf } from "./errors.ts";

/** The catalog command a command line names (`help <name>` included), if any. */
function invokedCommand(argv: string[]): string | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(commandCatalog, name) ? name : undefined;
}

/** The program with the command `argv` names fully registered; the others by name and summary only. */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command()
    .name("release-gate")
    .description("Canary releases to Kubernetes with smoke tests after every phase and automatic rollback.")
    .version(programVersion(), "-V, --version", "print the version")
    .addHelpText("after", programHelp)
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(redact(`release-gate: ${message.replace(/^error: /, "")}`)),
    });
  // Only the invoked command's module is loaded (the Kubernetes client alone costs most of a second at start-up, and
  // `smoke` runs many times per release). Every other command is registered by name and summary only: enough for
  // --help's command list and commander's "did you mean …?" after a typo.
  const invoked = invokedCommand(argv);
  for (const [name, entry] of Object.entries(commandCatalog)) {
    if (name === invoked) (await entry.load()).register(program);
    else program.command(name).summary(entry.summary);
  }
  // Subcommands inherit the error handling (usage errors must exit 2, not commander's default 1).
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError("(add --help for usage)");
  return program;
}

/** Runs the CLI on `argv` and returns its exit code (the caller sets process.exitCode). */
export async function main(argv: string[]): Promise<number> {
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
