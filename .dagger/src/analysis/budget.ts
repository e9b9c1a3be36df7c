/**
 * The failed-evaluations budget: each check, for each service, may fail `allowedFailures` evaluations in an
 * observation window (a scrape that lands late, one noisy minute); the next failure fails the phase.
 */
export class FailureBudget {
  private readonly failures = new Map<string, number>();

  /** Count a failed evaluation; returns the failures so far and whether that is over `allowed`. */
  fail(check: string, service: string, allowed: number): { failures: number; exceeded: boolean } {
    const key = `${check}\u0000${service}`;
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    return { failures, exceeded: failures > allowed };
  }
}

/** "a check fails the phase at its 2nd failed evaluation" */
export function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : (({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th");
  return `${n}${suffix}`;
}
