/**
 * Waiting for a condition on a real cluster (a Deployment Available, a CRD established, the edge serving a version):
 * the check is polled at a fixed interval (p-retry) until it holds or the deadline passes, and the failure says
 * what was awaited, for how long, and what the last look showed. A look that throws ends the wait at once.
 */
import pRetry from "p-retry";
import { formatDuration } from "../config/duration.ts";
import { FailedError } from "../errors.ts";

/** What one look found: done (with a value), or not yet and why. */
export type Look<T> = { done: true; value: T } | { done: false; why: string };

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

class NotYet extends Error {}

export async function waitUntil<T>(what: string, look: () => Promise<Look<T>>, o: WaitOptions): Promise<T> {
  let last = "not looked yet";
  const started = Date.now();
  try {
    return await pRetry(
      async () => {
        // A look that throws ends the wait with its error: only "not yet" is retried.
        const r = await look();
        if (r.done) return r.value;
        last = r.why;
        if (Date.now() - started >= o.timeoutMs) throw new FailedError(`${what}: still not after ${formatDuration(o.timeoutMs)} (${last})`);
        throw new NotYet(last);
      },
      {
        retries: Number.POSITIVE_INFINITY,
        factor: 1,
        minTimeout: o.intervalMs ?? 2_000,
        maxTimeout: o.intervalMs ?? 2_000,
        randomize: false,
        shouldRetry: ({ error }) => error instanceof NotYet,
        ...(o.signal ? { signal: o.signal } : {}),
      },
    );
  } catch (err) {
    if (err instanceof NotYet) throw new FailedError(`${what}: still not after ${formatDuration(o.timeoutMs)} (${last})`);
    throw err;
  }
}
