/**
 * Transient API failures (429, 5xx, connection resets) are retried with backoff under every typed client call,
 * so one flaky response never fails a release. 429 and 503 honour Retry-After. Each request body is a string,
 * so replaying it is safe; creates that really happened come back as 409 and callers treat that as done.
 */
import * as k8s from "@kubernetes/client-node";
import pRetry, { AbortError } from "p-retry";

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Cap on a server's Retry-After, so a hostile value cannot stall a rollback. */
  maxRetryAfterMs: number;
  /** Called once per retried failure (for progress output and request counting). */
  onRetry?: (info: { url: string; reason: string; attempt: number }) => void;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, minTimeoutMs: 100, maxTimeoutMs: 3_000, maxRetryAfterMs: 5_000 };

const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_CLOSED"]);

export function isTransientStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

/** A network-level failure worth retrying (reset, refused, socket closed), looking through `cause` chains. */
export function isTransientNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    if (e instanceof TypeError && e.message === "fetch failed") continue;
  }
  return false;
}

/** Retry-After in ms (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

class TransientResponse extends Error {
  readonly response: k8s.ResponseContext;
  constructor(response: k8s.ResponseContext) {
    super(`HTTP ${response.httpStatusCode}`);
    this.response = response;
  }
}

/** An HttpLibrary (client-node's transport) that replays a request on transient failures. */
export class RetryingHttpLibrary implements k8s.HttpLibrary {
  private readonly inner = new k8s.IsomorphicFetchHttpLibrary();
  private readonly policy: RetryPolicy;
  constructor(policy: RetryPolicy = DEFAULT_RETRY) {
    this.policy = policy;
  }

  send(request: k8s.RequestContext): k8s.Observable<k8s.ResponseContext> {
    return new k8s.Observable(this.sendWithRetry(request));
  }

  private async sendWithRetry(request: k8s.RequestContext): Promise<k8s.ResponseContext> {
    const policy = this.policy;
    const signal = request.getSignal() ?? undefined;
    try {
      return await pRetry(
        async () => {
          let response: k8s.ResponseContext;
          try {
            response = await this.inner.send(request).toPromise();
          } catch (err) {
            if (isTransientNetworkError(err) && !signal?.aborted) throw err;
            throw new AbortError(err as Error);
          }
          if (isTransientStatus(response.httpStatusCode)) throw new TransientResponse(response);
          return response;
        },
        {
          retries: policy.retries,
          minTimeout: policy.minTimeoutMs,
          maxTimeout: policy.maxTimeoutMs,
          randomize: true,
          signal,
          onFailedAttempt: async ({ error, attemptNumber }) => {
            policy.onRetry?.({ url: request.getUrl(), reason: error.message, attempt: attemptNumber });
            if (error instanceof TransientResponse) {
              const wait = retryAfterMs(error.response.headers["retry-after"]);
              // Honour the server's Retry-After on top of p-retry's own backoff, capped.
              if (wait) await new Promise((r) => setTimeout(r, Math.min(wait, policy.maxRetryAfterMs)));
            }
          },
        },
      );
    } catch (err) {
      // Out of retries on a transient status: hand the last response to the generated client, which turns it
      // into an ApiException with the server's message, as without retries.
      if (err instanceof TransientResponse) return err.response;
      throw err;
    }
  }
}
