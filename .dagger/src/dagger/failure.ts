/**
 * A failed CLI run in the toolbox, as `dagger call` should report it: the CLI's own verdict line (what failed, what
 * was done, where production stands) as the message, and the CLI's exit code kept. Dagger 0.21 carries an error's
 * extensions to the client; `dagger call` exits with `exitCode` when `_type` is EXEC_ERROR (cmd/dagger/functions.go),
 * and prints stdout/stderr with --progress=plain. So a rolled-back release exits 1 and a refusal 2, as the CLI does.
 */

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Failure {
  message: string;
  extensions: { _type: "EXEC_ERROR"; exitCode: number; stdout: string; stderr: string };
}

/** The CLI's verdict: its last `release-gate: …` line, else its last line, else what exited how. */
export function failureOf(command: string, run: CliRun): Failure {
  const lines = run.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const verdict = [...lines].reverse().find((l) => l.startsWith("release-gate: ")) ?? lines.at(-1);
  const message = verdict
    ? verdict.replace(/^release-gate: /, `release-gate ${command}: `)
    : `release-gate ${command} exited ${run.exitCode}`;
  return { message, extensions: { _type: "EXEC_ERROR", exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr } };
}

/** A refusal before anything ran (bad module settings): exit 2 like the CLI's own refusals. */
export function refusal(message: string): Failure {
  return { message, extensions: { _type: "EXEC_ERROR", exitCode: 2, stdout: "", stderr: message } };
}
