/**
 * The Prometheus HTTP API client (undici): instant queries (`/api/v1/query`) and which metric names exist
 * (`/api/v1/label/__name__/values`). Connection errors, timeouts and 5xx answers are retried with backoff
 * (p-retry); a query Prometheus refuses (400 bad_data, 422 execution error, 401/403) is never retried. Every
 * failure is a PrometheusError saying which: "unavailable" (no answer after the retries) or "refused".
 * The credential header is never part of an error or a log line.
 */
import pRetry, { AbortError } from "p-retry";
import { Agent, request, type Dispatcher } from "undici";
import { CONNECTION_ERRORS, errorCode } from "../smoke/net-errors.ts";

export interface PrometheusClientOptions {
  /** Base URL of the API (no credentials in it). */
  url: string;
  /** Authorization header value, resolved from the configured Secret or variable (credentials.ts). */
  authorization?: string;
  timeoutMs: number;
  retries: number;
  /** First backoff delay (doubles per retry). Default 250 ms. */
  backoffMs?: number;
}

export type PrometheusErrorKind = "unavailable" | "refused";

export class PrometheusError extends Error {
  readonly kind: PrometheusErrorKind;
  constructor(kind: PrometheusErrorKind, message: string) {
    super(message);
    this.name = "PrometheusError";
    this.kind = kind;
  }
}

/** One number out of a query, or why there is none. */
export type QueryValue = { kind: "value"; value: number } | { kind: "no-data"; why: string };

interface ApiAnswer {
  status?: string;
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/** Turn an instant query's `data` into one number: a scalar, or a vector with at most one sample. */
export function valueOf(data: unknown): QueryValue {
  const d = data as { resultType?: string; result?: unknown };
  if (d?.resultType === "scalar") return numberOf((d.result as [number, string])[1]);
  if (d?.resultType === "vector") {
    const result = d.result as Array<{ metric: Record<string, string>; value: [number, string] }>;
    if (result.length === 0) return { kind: "no-data", why: "no series (no traffic yet, or the selector matches nothing)" };
    if (result.length > 1) {
      const labels = result.slice(0, 3).map((r) => JSON.stringify(r.metric));
      throw new PrometheusError(
        "refused",
        `the query returned ${result.length} series (${labels.join(", ")}${result.length > 3 ? ", …" : ""}); ` +
          `a check needs one number: aggregate it, e.g. sum(…) or max(…)`,
      );
    }
    return numberOf(result[0]!.value[1]);
  }
  throw new PrometheusError(
    "refused",
    `the query returned a ${d?.resultType ?? "malformed"} result; a check needs a scalar or an instant vector`,
  );
}

function numberOf(text: string): QueryValue {
  // Prometheus writes infinities as Go does ("+Inf", "-Inf"), which Number() does not read.
  const value = text === "+Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text);
  // 0/0 (a rate ratio without traffic) is NaN: that is no data, not a value (Argo Rollouts #180).
  if (Number.isNaN(value)) return { kind: "no-data", why: "NaN (e.g. a ratio of rates with no requests in the window)" };
  return { kind: "value", value };
}

class Retryable extends Error {}

export class PrometheusClient {
  private readonly o: PrometheusClientOptions;
  private readonly dispatcher: Dispatcher;
  private readonly base: URL;

  constructor(o: PrometheusClientOptions) {
    this.o = o;
    this.base = new URL(o.url.endsWith("/") ? o.url : `${o.url}/`);
    this.dispatcher = new Agent({ connect: { timeout: o.timeoutMs }, keepAliveTimeout: 10_000 });
  }

  /** Where the API is, for messages (never with credentials: the schema refuses them in the URL). */
  get url(): string {
    return this.base.href.replace(/\/$/, "");
  }

  /** Run an instant query at the current time. */
  async query(promql: string, signal?: AbortSignal): Promise<QueryValue> {
    const answer = await this.call("POST", "api/v1/query", new URLSearchParams({ query: promql }), signal);
    return valueOf(answer.data);
  }

  /** Which of `names` Prometheus has any series of (within its retention). */
  async existingMetrics(names: string[], signal?: AbortSignal): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const params = new URLSearchParams({ "match[]": `{__name__=~"${names.join("|")}"}` });
    // This endpoint answers GET only (405 to a POST).
    const answer = await this.call("GET", "api/v1/label/__name__/values", params, signal);
    return new Set(Array.isArray(answer.data) ? (answer.data as string[]) : []);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /**
   * Call an API path with `params` (a form for POST, the query string for GET); retries what may succeed next
   * time, throws PrometheusError otherwise. Both are read-only, so any of them may be sent again.
   */
  private async call(method: "GET" | "POST", path: string, params: URLSearchParams, signal?: AbortSignal): Promise<ApiAnswer> {
    const url = new URL(path, this.base);
    if (method === "GET") url.search = params.toString();
    const where = `${url.origin}${url.pathname}`;
    const headers: Record<string, string> = { "user-agent": "release-gate" };
    if (method === "POST") headers["content-type"] = "application/x-www-form-urlencoded";
    if (this.o.authorization) headers.authorization = this.o.authorization;
    let last = "";
    const attempt = async (): Promise<ApiAnswer> => {
      const timeout = AbortSignal.timeout(this.o.timeoutMs);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method,
          headers,
          ...(method === "POST" ? { body: params.toString() } : {}),
          dispatcher: this.dispatcher,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        if (signal?.aborted) throw new AbortError(signal.reason instanceof Error ? signal.reason : new Error("cancelled"));
        const code = errorCode(err);
        if (timeout.aborted) last = `no answer within ${this.o.timeoutMs} ms`;
        else if (code && CONNECTION_ERRORS.has(code)) last = `connection failed (${code})`;
        else throw new AbortError(new PrometheusError("unavailable", `${where}: ${(err as Error).message}`));
        throw new Retryable(last);
      }
      const text = await res.body.text();
      let body: ApiAnswer | undefined;
      try {
        body = JSON.parse(text) as ApiAnswer;
      } catch {
        body = undefined;
      }
      const why = body?.error ? `${body.errorType ?? "error"}: ${body.error}` : text.slice(0, 200).replace(/\s+/g, " ").trim();
      if (res.statusCode >= 500) {
        last = `HTTP ${res.statusCode}${why ? ` (${why})` : ""}`;
        throw new Retryable(last);
      }
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new AbortError(new PrometheusError("refused", `HTTP ${res.statusCode} from ${where}: check analysis.prometheus.auth`));
      }
      if (res.statusCode >= 300 || !body || body.status !== "success") {
        throw new AbortError(
          new PrometheusError("refused", `HTTP ${res.statusCode} from ${where}: ${why || "not a Prometheus API answer"}`),
        );
      }
      return body;
    };
    try {
      return await pRetry(attempt, {
        retries: this.o.retries,
        minTimeout: this.o.backoffMs ?? 250,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof Retryable,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof PrometheusError) throw err;
      if (err instanceof Retryable) {
        throw new PrometheusError("unavailable", `${where}: ${last} after ${this.o.retries + 1} attempt(s)`);
      }
      throw err;
    }
  }
}
