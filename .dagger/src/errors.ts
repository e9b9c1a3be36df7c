/**
 * The errors every command maps to an exit code. A message says what failed, what release-gate did about it,
 * and where production stands now; the CLI prints it as one line (plus detail lines) and exits with `exitCode`.
 */

/** Bad usage or bad input, found before anything was sent or changed: exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The work was done and its verdict is "failed" (a smoke check failed, a release rolled back): exit 1. */
export class FailedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = "FailedError";
  }
}

/** Exit code for any thrown value: UsageError 2, everything else 1. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}
