/**
 * `release-gate <command>`: the pipeline without Dagger, and what runs inside the toolbox container. Thin on
 * purpose: each command lives in commands/<name>.ts and exports `register(program)`. Exit codes: 0 success,
 * 1 failed verdict (FailedError or anything unexpected), 2 bad usage or input (UsageError, commander errors).
 *
 * Importing this file does nothing: `bin/release-gate.js` calls main(). The Dagger runtime imports every file under
 * .dagger/src before it calls a function, so a file here that ran the CLI on import would break every `dagger call`.
 */
import { Command, CommanderError, type Option } from "commander";
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
  for (const sub of program.commands) requiredAfterUnknown(sub.exitOverride().showHelpAfterError("(add --help for usage)"));
  return program;
}

const checkedLater = new WeakSet<Option>();

/** Whether the command line must give `o` (commander's mandatory, or checked by requiredAfterUnknown). */
export function isRequiredOption(o: Option): boolean {
  return o.mandatory || checkedLater.has(o);
}

/**
 * commander checks required options before unknown ones, so `deploy --tga 1.4.2` said "required option '--tag'
 * not specified" and never "did you mean --tag?". The same check, made after commander's unknown-option check
 * (preAction runs after it), with commander's own message.
 */
function requiredAfterUnknown(sub: Command): void {
  const required = sub.options.filter((o) => o.mandatory);
  if (!required.length) return;
  for (const o of required) {
    o.mandatory = false;
    checkedLater.add(o);
  }
  sub.hook("preAction", (cmd) => {
    const missing = required.find((o) => cmd.getOptionValue(o.attributeName()) === undefined);
    if (missing) cmd.error(`error: required option '${missing.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
  });
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
