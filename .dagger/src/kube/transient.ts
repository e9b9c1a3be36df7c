/**
 * Transient API failures (429, 5xx, connection resets) are retried with backoff under every typed client call,
 * so one flaky response never fails a release. 429 and 503 honour Retry-After. Each request body is a string,
 * so replaying it is safe; creates that really happened come back as 409 and callers treat that as done.
 *
 * Every request also has a timeout (undici's headersTimeout and bodyTimeout, which are otherwise 300 s): an API
 * server that stops answering fails the request instead of stalling a release or its rollback. A timed-out read
 * (GET) is retried like a reset; a timed-out write is not (it may still be applied), it fails the call.
 */
import * as k8s from "@kubernetes/client-node";
import pRetry, { AbortError } from "p-retry";
import { getGlobalDispatcher, type Dispatcher } from "undici";
import { FIELD_MANAGER } from "./labels.ts";

/** What the API server derives the field manager of a write from (the part before "/"). */
export const USER_AGENT = `${FIELD_MANAGER}/1 (@kubernetes/client-node)`;

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Cap on a server's Retry-After, so a hostile value cannot stall a rollback. */
  maxRetryAfterMs: number;
  /** Called once per retried failure (for progress output and request counting). */
  onRetry?: (info: { url: string; reason: string; attempt: number }) => void;
  /**
   * Per-request timeout in ms: no response headers, or no body data, for this long fails the attempt (a read
   * is then retried). 0 turns it off (undici's 300 s defaults apply).
   */
  requestTimeoutMs?: number;
}

/** Kubernetes answers in milliseconds; 10 s without a byte is a stalled server, not a slow one. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 6,
  minTimeoutMs: 100,
  maxTimeoutMs: 3_000,
  maxRetryAfterMs: 5_000,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
};

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_CLOSED",
]);
/** The request was sent and no (complete) answer came in time: safe to replay only when it changes nothing. */
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const IDEMPOTENT_READS = new Set(["GET", "HEAD"]);

export function isTransientStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

/**
 * A network-level failure worth retrying (reset, refused, socket closed, connect timeout), looking through
 * `cause` chains; with `idempotent` (a read), also a request that timed out waiting for headers or body.
 */
export function isTransientNetworkError(err: unknown, opts: { idempotent?: boolean } = {}): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    if (opts.idempotent && typeof code === "string" && TIMEOUT_CODES.has(code)) return true;
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
    const idempotent = IDEMPOTENT_READS.has(request.getHttpMethod().toString().toUpperCase());
    // The API server names a write's field manager after the user agent: release-gate's own changes then read as its
    // own in managedFields, and anyone else's as theirs.
    request.setHeaderParam("User-Agent", USER_AGENT);
    if (policy.requestTimeoutMs)
      request.setDispatcher(withTimeouts(request.getDispatcher() ?? getGlobalDispatcher(), policy.requestTimeoutMs));
    try {
      return await pRetry(
        async () => {
          let response: k8s.ResponseContext;
          try {
            response = await this.inner.send(request).toPromise();
            // A read's body is read here, inside the attempt, so a body that stalls is retried like headers that do.
            if (idempotent && !isTransientStatus(response.httpStatusCode)) response = await buffered(response);
          } catch (err) {
            if (isTransientNetworkError(err, { idempotent }) && !signal?.aborted) throw err;
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

/**
 * `dispatcher` with undici's per-request headersTimeout and bodyTimeout set (UND_ERR_HEADERS_TIMEOUT /
 * UND_ERR_BODY_TIMEOUT when they pass). Only the typed clients' transport uses it: watches (k8s.Watch) make
 * their own requests and keep undici's defaults, since a watch is quiet for as long as nothing changes.
 */
export function withTimeouts(dispatcher: Dispatcher, timeoutMs: number): Dispatcher {
  return dispatcher.compose(
    (dispatch) => (opts, handler) => dispatch({ ...opts, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, handler),
  );
}

/** The same response with its body already read (text; binary from the same bytes). */
async function buffered(response: k8s.ResponseContext): Promise<k8s.ResponseContext> {
  const text = await response.body.text();
  return new k8s.ResponseContext(response.httpStatusCode, response.headers, {
    text: async () => text,
    binary: async () => Buffer.from(text),
    stream: () => new Blob([text]).stream(),
  });
}
