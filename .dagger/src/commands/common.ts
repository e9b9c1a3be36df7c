/**
 * What every command shares: option parsers that refuse bad input as usage errors (exit 2), reading a secret from
 * an environment variable by NAME (the value never travels on the command line), output as text or --json, and
 * the redaction list the CLI applies to anything it prints.
 */
import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import { isHeaderName, isHeaderValue } from "../config/http-header.ts";
import { UsageError } from "../errors.ts";
import { redactJsonValue, redactSecrets } from "../smoke/redact.ts";

const secrets = new Set<string>();

/** Registers a secret value: the CLI scrubs it from every message it prints, errors included. */
export function registerSecret(value: string): void {
  if (value) secrets.add(value);
}

/**
 * Replaces every registered secret in `text` with "[redacted]": whole, JSON-escaped, and for tokens any
 * identifying piece, such as the start of one left by a reason cut short ("sk_live_A1b2..."). A secret too short
 * to identify anyone inside a word (e.g. "t") is redacted only where it stands as a word. See smoke/redact.ts.
 */
export function redact(text: string): string {
  return secrets.size === 0 ? text : redactSecrets(text, secrets);
}

/**
 * `json` (a JSON document) with every registered secret redacted inside its strings, re-serialised as
 * `JSON.stringify(…, null, 2)`: the result is valid JSON whatever the secret looks like (`true`, `200`, `"`).
 * Text that is not JSON is redacted as text.
 */
export function redactJson(json: string): string {
  if (secrets.size === 0) return json;
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return redact(json);
  }
  return JSON.stringify(redactJsonValue(doc, secrets), null, 2) + (json.endsWith("\n") ? "\n" : "");
}

/** commander parser: an integer >= min. */
export function intOption(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}.`);
    return n;
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * commander parser: the NAME of an environment variable (never its value). The error does not quote what was
 * given (commander's InvalidArgumentError would): it may be the secret itself, pasted by mistake.
 */
export function envNameOption(value: string): string {
  if (!ENV_NAME.test(value)) {
    throw new UsageError("--token-env takes the NAME of an environment variable (letters, digits, _), not its value");
  }
  return value;
}

/**
 * The value of environment variable `name`, or undefined when unset or empty. The value is registered for
 * redaction before it is returned.
 */
export function readSecretEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  // Not quoted in the error: a value pasted where a name belongs may be the secret itself.
  if (!ENV_NAME.test(name)) throw new UsageError("expected the NAME of an environment variable (letters, digits, _), not its value");
  const value = env[name];
  if (!value) return undefined;
  registerSecret(value);
  return value;
}

/** commander parser: "Name: value" into { name, value }. */
export function headerOption(value: string): { name: string; value: string } {
  const i = value.indexOf(":");
  const name = i > 0 ? value.slice(0, i).trim() : "";
  const headerValue = i > 0 ? value.slice(i + 1).trim() : "";
  if (!isHeaderName(name) || !isHeaderValue(headerValue)) {
    throw new InvalidArgumentError('expected "Name: value", e.g. "X-Canary: always".');
  }
  return { name, value: headerValue };
}

/** commander collector for repeatable options. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** commander parser for comma-separated lists, repeatable. */
export function listOption(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/** Reads a file named by an option; a UsageError names the option and the path when it cannot be read. */
export async function readOptionFile(option: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path} given to ${option} (${(err as NodeJS.ErrnoException).code ?? "error"}): check the path`);
  }
}

/** Prints a result: the JSON document with --json (still valid JSON once redacted), else the human text. Both go to stdout, redacted. */
export function output(opts: { json?: boolean }, human: () => string, machine: () => string): void {
  process.stdout.write(opts.json ? redactJson(machine()) : redact(human()));
}

/**
 * The "Examples:" block a command's --help ends with (commander's addHelpText("after", …)): one `release-gate …`
 * line per example, its comment aligned after `#`, so a line pastes into a shell as it is.
 */
export function examples(...lines: Array<[args: string, comment?: string]>): string {
  const commands = lines.map(([args]) => `release-gate ${args}`);
  const width = Math.max(...commands.map((c) => c.length));
  return ["", "Examples:", ...commands.map((c, i) => `  ${lines[i][1] ? `${c.padEnd(width)}  # ${lines[i][1]}` : c}`)].join("\n");
}
