/**
 * Runs a smoke suite against a base URL: every check at once (the suite takes as long as its slowest check, not
 * the sum), each with its own timeout, all under one overall deadline. Input is validated before any request is
 * sent; the token is only ever placed in an Authorization header and is scrubbed from every reason.
 */
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { createSecureContext, getCACertificates, type SecureContext } from "node:tls";
import { Agent } from "undici";
import { UsageError } from "../errors.ts";
import { qualisysSuite } from "./default-suite.ts";
import { runHttpCheck } from "./http-check.ts";
import { redactSecrets } from "./redact.ts";
import type { Suite } from "./suite.ts";
import { runTlsCheck } from "./tls-check.ts";
import { TLS_CHECK_NAME, type CheckResult, type SmokeReport } from "./types.ts";

export interface SmokeOptions {
  /** Absolute http:// or https:// URL; a path prefix is kept (checks' paths are appended to it). */
  baseUrl: string | URL;
  /** Defaults to the QualiSys suite. */
  suite?: Suite;
  /** Bearer token for checks with `auth: bearer`; required when such a check runs. */
  token?: string;
  /** Sent with every HTTP check (a check's own headers win). */
  extraHeaders?: Record<string, string>;
  /** The canary-routing header, sent with every HTTP check to reach the canary directly. */
  canary?: { name: string; value: string };
  /** Per-attempt timeout of one check. Default 5000. */
  timeoutMs?: number;
  /**
   * Time to establish a connection (TCP, and TLS for https), shorter than `timeoutMs` so that a connect that hangs
   * (a dropped SYN, a stuck handshake) fails as a connection error and is retried, instead of using up the whole
   * attempt as "no response". Default: half of `timeoutMs`.
   */
  connectTimeoutMs?: number;
  /** Overall deadline of the whole suite. Default 30000. */
  deadlineMs?: number;
  /** Retries after a connection error (refused, reset, unreachable); wrong answers are never retried. Default 2. */
  retries?: number;
  /** First retry delay, doubled each retry. Default 200. */
  backoffMs?: number;
  /** Names of checks not to run (e.g. "user-me" when no token is at hand, "tls"). */
  skip?: string[];
  /** Extra trusted CA certificates (PEM), added to the system store, for both the requests and the TLS check. */
  ca?: string | string[];
  /** Cancels the run (e.g. the pipeline aborting an observation window). */
  signal?: AbortSignal;
}

export const DEFAULTS = { timeoutMs: 5000, deadlineMs: 30_000, retries: 2, backoffMs: 200 } as const;

/** Parses and checks a base URL; a UsageError says what is wrong and how to fix it. */
export function parseBaseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new UsageError(`${JSON.stringify(String(input))} is not a valid URL: give an absolute URL such as https://app.qualisys.io`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`URL scheme ${url.protocol.replace(/:$/, "")} is not supported: use http:// or https://`);
  }
  if (!url.hostname) throw new UsageError(`URL ${JSON.stringify(String(input))} has no host: give one, e.g. https://app.qualisys.io`);
  if (url.username || url.password) {
    // Credentials in a URL end up in logs and reports; the token has its own channel.
    throw new UsageError("URL contains credentials: remove them and pass the token through an environment variable (--token-env)");
  }
  if (url.hash) throw new UsageError(`URL ${url.origin}${url.pathname} has a #fragment: remove it`);
  return url;
}

/**
 * Whether a host name is this machine's loopback: localhost, 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z). Only there may a
 * bearer token travel over plain http: nobody else is on that path.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) !== 6) return false;
  if (host === "::1") return true;
  // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(host);
  return mapped !== null && parseInt(mapped[1], 16) >> 8 === 127;
}

/**
 * Refuses (UsageError, before anything is sent) to send the bearer token of `checkName` over plain http to anything
 * but loopback: whoever is on the path between here and the service could read it.
 */
export function assertTokenTransport(url: URL, checkName: string): void {
  if (url.protocol !== "http:" || isLoopbackHost(url.hostname)) return;
  throw new UsageError(
    `refusing to send the bearer token of check "${checkName}" over plain http to ${url.host}: anyone on the way could read it; ` +
      `use https://, or skip the check with --skip ${checkName}. Plain http carries the token only to loopback (localhost, 127.0.0.0/8, ::1); nothing was sent`,
  );
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

export async function runSmokeSuite(opts: SmokeOptions): Promise<SmokeReport> {
  // Everything that can be refused is refused here, before the first request.
  const baseUrl = parseBaseUrl(opts.baseUrl);
  const suite = opts.suite ?? qualisysSuite;
  const timeoutMs = positiveInt("timeout", opts.timeoutMs ?? DEFAULTS.timeoutMs, 1);
  const connectTimeoutMs = positiveInt("connect timeout", opts.connectTimeoutMs ?? Math.max(1, Math.floor(timeoutMs / 2)), 1);
  if (timeoutMs > 1 && connectTimeoutMs >= timeoutMs) {
    throw new UsageError(`connect timeout (${connectTimeoutMs} ms) must be shorter than the per-check timeout (${timeoutMs} ms)`);
  }
  const deadlineMs = positiveInt("deadline", opts.deadlineMs ?? DEFAULTS.deadlineMs, 1);
  const retries = positiveInt("retries", opts.retries ?? DEFAULTS.retries, 0);
  const backoffMs = positiveInt("backoff", opts.backoffMs ?? DEFAULTS.backoffMs, 0);
  const skip = new Set(opts.skip ?? []);
  const known = new Set([...suite.checks.map((c) => c.name), TLS_CHECK_NAME]);
  for (const name of skip) {
    if (!known.has(name)) throw new UsageError(`cannot skip "${name}": suite ${suite.name} has checks ${[...known].join(", ")}`);
  }
  const checks = suite.checks.filter((c) => !skip.has(c.name));
  const needsToken = checks.find((c) => c.auth === "bearer");
  if (needsToken && !opts.token) {
    throw new UsageError(
      `no token for check "${needsToken.name}" (it sends a bearer token): ` +
        `set SMOKE_TEST_TOKEN or name another variable with --token-env (Dagger: --token=env://VAR), or skip it with --skip ${needsToken.name}`,
    );
  }
  if (needsToken) assertTokenTransport(baseUrl, needsToken.name);
  const runTls = baseUrl.protocol === "https:" && suite.tls.enabled && !skip.has(TLS_CHECK_NAME);
  if (checks.length === 0 && !runTls) throw new UsageError(`every check of suite ${suite.name} is skipped: nothing would be tested`);
  const secureContext = opts.ca === undefined ? undefined : trustStore([opts.ca].flat());

  const startedAt = new Date();
  const started = performance.now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error("deadline")), deadlineMs);
  const deadlineSignal = opts.signal ? AbortSignal.any([deadline.signal, opts.signal]) : deadline.signal;
  const stopped = () =>
    opts.signal?.aborted && !deadline.signal.aborted
      ? "cancelled before a verdict"
      : `no verdict before the overall deadline of ${deadlineMs} ms`;
  // undici's own connect timeout (10 s) is longer than a check's: a hung connect would end as "no response" and
  // never be retried. One dispatcher per check: within one pool, requests wait in line behind a connection that
  // is still being made, so a hung connect would hold every other check too.
  const dispatchers: Agent[] = [];
  const dispatcher = () => {
    const agent = new Agent({ connect: { timeout: connectTimeoutMs, ...(secureContext ? { secureContext } : {}) } });
    dispatchers.push(agent);
    return agent;
  };
  const token = opts.token;
  const scrub = token ? (text: string) => redactSecrets(text, [token]) : undefined;
  let results: CheckResult[];
  try {
    results = await Promise.all([
      ...checks.map((check) =>
        runHttpCheck(check, {
          baseUrl,
          token: opts.token,
          extraHeaders: opts.extraHeaders ?? {},
          canary: opts.canary,
          timeoutMs,
          connectTimeoutMs,
          retries,
          backoffMs,
          dispatcher: dispatcher(),
          deadline: deadlineSignal,
          stopped,
          scrub,
        }),
      ),
      ...(runTls
        ? [
            runTlsCheck(TLS_CHECK_NAME, {
              url: baseUrl,
              secureContext,
              minDaysValid: suite.tls.minDaysValid,
              timeoutMs,
              retries,
              backoffMs,
              deadline: deadlineSignal,
              stopped,
            }),
          ]
        : []),
    ]);
  } finally {
    clearTimeout(timer);
    await Promise.all(dispatchers.map((d) => d.destroy()));
  }
  // A reason may quote a response body, and a misbehaving service may echo the token back: never pass it on.
  const checksOut = results.map((r) => (r.reason && scrub ? { ...r, reason: scrub(r.reason) } : r));
  return {
    ok: checksOut.every((c) => c.ok),
    url: baseUrl.href,
    suite: suite.name,
    canary: opts.canary !== undefined,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    checks: checksOut,
  };
}

const trustStores = new Map<string, SecureContext>();

/**
 * The system CAs plus the extra ones, as one TLS context shared by every connection of every run: parsing the
 * whole CA store per connection would cost more than the checks themselves, and the pipeline smoke-tests again
 * and again during an observation window.
 */
function trustStore(extra: string[]): SecureContext {
  const key = extra.join("\n");
  let ctx = trustStores.get(key);
  if (!ctx) {
    // OpenSSL skips text that is not a certificate without a word, which would leave the CA silently untrusted.
    const pems = extra.flatMap((text) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
    try {
      if (pems.length === 0) throw new Error("no PEM certificate found");
      for (const pem of pems) new X509Certificate(pem);
      ctx = createSecureContext({ ca: [...getCACertificates("default"), ...pems] });
    } catch (err) {
      throw new UsageError(`the extra CA certificates cannot be used (${(err as Error).message}): give PEM certificates`);
    }
    trustStores.set(key, ctx);
  }
  return ctx;
}
