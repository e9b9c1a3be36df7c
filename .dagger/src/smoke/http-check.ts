/**
 * Runs one HTTP check with undici: per-attempt timeout, bounded retries with backoff for connection errors only
 * (a wrong answer is an answer: retrying it would only hide a flapping service), and the run's deadline over all.
 */
import pRetry from "p-retry";
import { request, type Dispatcher } from "undici";
import { judge, type Scrub } from "./expect.ts";
import type { Check } from "./suite.ts";
import { CONNECTION_ERRORS, describeTlsCode, errorCode, isRetryable } from "./net-errors.ts";
import type { CheckResult } from "./types.ts";

export interface HttpCheckContext {
  baseUrl: URL;
  token?: string;
  extraHeaders: Record<string, string>;
  canary?: { name: string; value: string };
  timeoutMs: number;
  /** The dispatcher's connect timeout, for the reason when it fires. */
  connectTimeoutMs?: number;
  retries: number;
  /** First backoff delay; doubles per retry. */
  backoffMs: number;
  dispatcher: Dispatcher;
  /** Aborted when the overall deadline passes (or the caller cancels). */
  deadline: AbortSignal;
  /** Why `deadline` fired, for the reason: the deadline itself or the caller cancelling. */
  stopped: () => string;
  /** Removes the token from text quoted from an answer, before any of it is cut short. */
  scrub?: Scrub;
}

/** Bodies are read up to this size: enough for any page worth smoke-testing, bounded against runaway responses. */
const MAX_BODY_BYTES = 1024 * 1024;

class CheckTimeout extends Error {}

/** The URL a check requests: the base URL's path prefix (if any) followed by the check's path. */
export function checkUrl(baseUrl: URL, path: string): URL {
  const url = new URL(baseUrl.href);
  url.pathname = baseUrl.pathname.replace(/\/+$/, "") + path.split("?")[0];
  const query = path.includes("?") ? path.slice(path.indexOf("?")) : "";
  url.search = query;
  return url;
}

export async function runHttpCheck(check: Check, ctx: HttpCheckContext): Promise<CheckResult> {
  const started = performance.now();
  let attempts = 0;
  const result = (fields: Omit<CheckResult, "name" | "latencyMs" | "attempts">): CheckResult => ({
    name: check.name,
    ...fields,
    latencyMs: Math.round(performance.now() - started),
    attempts,
  });

  const headers: Record<string, string> = { "user-agent": "release-gate-smoke", ...ctx.extraHeaders, ...check.headers };
  if (ctx.canary) headers[ctx.canary.name] = ctx.canary.value;
  if (check.auth === "bearer") headers.authorization = `Bearer ${ctx.token ?? ""}`;
  const url = checkUrl(ctx.baseUrl, check.path);

  const attempt = async () => {
    attempts++;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new CheckTimeout()), ctx.timeoutMs);
    try {
      const res = await request(url, {
        method: check.method,
        headers,
        body: check.body,
        dispatcher: ctx.dispatcher,
        signal: AbortSignal.any([timeout.signal, ctx.deadline]),
      });
      const body = await readCapped(res.body);
      const contentType = String(res.headers["content-type"] ?? "");
      return { status: res.statusCode, contentType, body };
    } catch (err) {
      // undici reports an aborted request in several shapes; which signal fired is what decides the reason.
      if (timeout.signal.aborted && !ctx.deadline.aborted) throw new CheckTimeout();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };

  try {
    const answer = await pRetry(attempt, {
      retries: ctx.retries,
      minTimeout: ctx.backoffMs,
      factor: 2,
      randomize: true,
      signal: ctx.deadline,
      // A POST (or PUT, PATCH, DELETE) is sent again only when the error proves it never left.
      shouldRetry: ({ error }) => isRetryable(check.method, errorCode(error)),
    });
    const reason = judge(check.expect, answer, ctx.scrub);
    return result({ ok: reason === undefined, status: answer.status, reason });
  } catch (err) {
    return result({ ok: false, reason: describeFailure(err, ctx, attempts, check.method) });
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8");
}

function describeFailure(err: unknown, ctx: HttpCheckContext, attempts: number, method: string): string {
  if (ctx.deadline.aborted) return `${ctx.stopped()} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`;
  if (err instanceof CheckTimeout) return `no response within ${ctx.timeoutMs} ms`;
  const code = errorCode(err);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    const within = ctx.connectTimeoutMs === undefined ? "" : ` (no connection within ${ctx.connectTimeoutMs} ms)`;
    return `connect timed out${within}${tries}: is the service up and the URL right?`;
  }
  if (code && CONNECTION_ERRORS.has(code)) {
    if (!isRetryable(method, code)) return `connection failed (${code})${tries}: ${method} not retried, the service may have received it`;
    return `connection failed (${code})${tries}: is the service up and the URL right?`;
  }
  if (code && /CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY/.test(code))
    return `TLS handshake refused the certificate: ${describeTlsCode(code)}`;
  if (code === "ENOTFOUND") return `host ${ctx.baseUrl.hostname} not found (ENOTFOUND): check the URL`;
  const message = err instanceof Error ? err.message : String(err);
  return `request failed${code ? ` (${code})` : ""}${tries}: ${message}`;
}
