/** The report shapes the runner returns, the renderers print and the pipeline records. */

/** The name of the built-in certificate check in reports. */
export const TLS_CHECK_NAME = "tls";

export interface CheckResult {
  /** The check's name from the suite ("tls" for the certificate check). */
  name: string;
  ok: boolean;
  /** HTTP status of the last answer, when one came. */
  status?: number;
  /** Time the check took, retries included. */
  latencyMs: number;
  /** Why it failed: what was expected and what came back. */
  reason?: string;
  /** Requests sent (more than 1 when connection errors were retried). */
  attempts: number;
}

export interface SmokeReport {
  /** Every check passed. */
  ok: boolean;
  /** The base URL tested. */
  url: string;
  /** Name of the suite run. */
  suite: string;
  /** The canary-routing header was sent. */
  canary: boolean;
  /** ISO 8601 start time. */
  startedAt: string;
  durationMs: number;
  checks: CheckResult[];
}
