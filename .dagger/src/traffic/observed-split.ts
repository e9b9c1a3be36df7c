/**
 * The observed split: sample the public URL and count which version answered, where the app reports its
 * version in a response header (e.g. X-App-Version). This checks what users get, not what the objects say.
 *
 * Verdict. With n responses of a known version and a router that really sends a share p to the canary, the
 * canary count X is binomial(n, p). The check is an exact two-sided binomial test at a stated false-alarm rate α
 * (default 1e-6: a router that does what it was told is called a mismatch at most once in a million checks):
 * X is a mismatch when it is that unlikely for every share within `tolerancePoints` of p (router rounding), the
 * slack never reaching more than half the way to 0 or 100 %, so "the canary gets nothing" always stays outside it.
 * With 200 samples, 0 canary answers at 10 % is a mismatch; with too few samples to tell a low weight from
 * nothing at all, 0 canary answers is "inconclusive" rather than a match. At p = 0 and p = 1 (weight 0 and 100)
 * no request may go to the wrong side (weight 0 is what a rollback must verify). If fewer than
 * `minKnownFraction` (default 0.9) of the samples report a known version, the verdict is "inconclusive".
 */
import { Agent, request, type Dispatcher } from "undici";

export interface SplitCounts {
  stable: number;
  canary: number;
  /** Responses whose version header is missing or neither version. */
  unknown: number;
  /** Of `unknown`, the responses without the version header at all (the rest name another version). */
  missing?: number;
  /** Requests that failed (connection error, timeout); status codes are not judged here. */
  errors: number;
}

export type SplitVerdict = "match" | "mismatch" | "inconclusive";

export interface SplitResult extends SplitCounts {
  samples: number;
  /** Canary share of the responses with a known version (0..1), NaN if none. */
  observed: number;
  expected: number;
  /** The canary shares (0..1) the verdict accepts for this many known responses: [low, high]. */
  acceptable: [number, number];
  verdict: SplitVerdict;
  /** One line for logs and errors. */
  summary: string;
  /** Up to five distinct unknown versions / errors seen, for diagnosis. */
  examples: string[];
}

export const DEFAULT_FALSE_ALARM_RATE = 1e-6;
export const DEFAULT_TOLERANCE_POINTS = 2;

export interface VerdictOptions {
  /**
   * Probability that a split the routers really apply is called a mismatch, per check (two-sided). Default 1e-6.
   */
  falseAlarmRate?: number;
  /**
   * Systematic gap allowed on top of sampling noise, in percentage points (e.g. a router that rounds weights).
   * Never more than half the way from the weight to 0 or 100 %. Default 2.
   */
  tolerancePoints?: number;
  /** Below this share of known versions the verdict is inconclusive. Default 0.9. */
  minKnownFraction?: number;
}

/** Judge counts against an expected canary weight (percent). Pure. */
export function judgeSplit(counts: SplitCounts, expectedWeight: number, opts: VerdictOptions = {}): Omit<SplitResult, "examples"> {
  const alpha = opts.falseAlarmRate ?? DEFAULT_FALSE_ALARM_RATE;
  let slack = (opts.tolerancePoints ?? DEFAULT_TOLERANCE_POINTS) / 100;
  const minKnown = opts.minKnownFraction ?? 0.9;
  const samples = counts.stable + counts.canary + counts.unknown + counts.errors;
  const known = counts.stable + counts.canary;
  const p = Math.min(1, Math.max(0, expectedWeight / 100));
  const observed = known > 0 ? counts.canary / known : Number.NaN;
  let acceptable: [number, number];
  let verdict: SplitVerdict;
  let why = "";
  if (p <= 0 || p >= 1) {
    acceptable = [p, p];
    verdict = (p <= 0 ? counts.canary : counts.stable) === 0 ? "match" : "mismatch";
  } else {
    // The slack stops half way to 0 and to 100 %: "the canary gets nothing" (or everything) is never within it.
    slack = Math.min(slack, p / 2, (1 - p) / 2);
    const [lo, hi] = acceptedCounts(known, p - slack, p + slack, alpha);
    acceptable = known > 0 ? [lo / known, hi / known] : [0, 1];
    if (counts.canary < lo || counts.canary > hi) verdict = "mismatch";
    else if ((counts.canary === 0 && lo === 0) || (counts.canary === known && hi === known)) {
      verdict = "inconclusive";
      why =
        `; ${known} responses cannot tell a ${expectedWeight} % canary from ` +
        `one that gets ${counts.canary === 0 ? "none" : "all"} of the traffic: raise observedSplit.samples`;
    } else verdict = "match";
  }
  if (samples === 0 || known / samples < minKnown) {
    verdict = "inconclusive";
    why = `; only ${known} of ${samples} responses carry a known version`;
  }
  const pct = (x: number) => (Number.isNaN(x) ? "n/a" : `${Math.round(x * 1000) / 10} %`);
  const range =
    acceptable[0] === acceptable[1]
      ? `exactly ${pct(acceptable[0])}`
      : `${pct(acceptable[0])}–${pct(acceptable[1])} (false-alarm rate ${alpha}, tolerance ±${Math.round(slack * 1000) / 10} points)`;
  const summary =
    `observed canary share ${pct(observed)} (${counts.canary} canary, ${counts.stable} stable, ${counts.unknown} unknown, ${counts.errors} ` +
    `errors of ${samples}), ` +
    `expected ${expectedWeight} %, acceptable ${range}: ${verdict}${why}`;
  return { ...counts, samples, observed, expected: p, acceptable, verdict, summary };
}

/**
 * The canary counts [lo, hi] out of n that an exact binomial test accepts when the true share lies anywhere in
 * [qLo, qHi]: below lo is too few even for qLo (P(X ≤ x | qLo) ≤ α/2), above hi too many even for qHi.
 */
export function acceptedCounts(n: number, qLo: number, qHi: number, alpha: number): [number, number] {
  if (n === 0) return [0, 0];
  const low = binomialPmf(n, qLo);
  let lo = 0;
  for (let below = low[0]; lo < n && below <= alpha / 2; below += low[lo]) lo++;
  const high = binomialPmf(n, qHi);
  let hi = n;
  for (let above = high[n]; hi > 0 && above <= alpha / 2; above += high[hi]) hi--;
  return [lo, hi];
}

/** P(X = k) for k = 0..n, X ~ binomial(n, q), from log-factorials (relative error far below 1e-9 for n ≤ 10,000). */
export function binomialPmf(n: number, q: number): number[] {
  if (q <= 0) return Array.from({ length: n + 1 }, (_, k) => (k === 0 ? 1 : 0));
  if (q >= 1) return Array.from({ length: n + 1 }, (_, k) => (k === n ? 1 : 0));
  const logFact = [0];
  for (let i = 1; i <= n; i++) logFact.push(logFact[i - 1] + Math.log(i));
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  return Array.from({ length: n + 1 }, (_, k) => Math.exp(logFact[n] - logFact[k] - logFact[n - k] + k * lq + (n - k) * l1q));
}

export interface ObserveSplitOptions {
  url: string;
  /** The response header carrying the version, e.g. "X-App-Version" (case-insensitive). */
  versionHeader: string;
  stableVersion: string;
  canaryVersion: string;
  /** The canary weight (percent) the routers were set to (after expectedWeight for replicas). */
  expectedWeight: number;
  /** Requests to send (default 200). */
  samples?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /**
   * Sampling stops at this deadline (ms from the start): no request is sent after it, those in flight are given
   * up and not counted, and the verdict is on what came back (with too few answers, "inconclusive"). Default none.
   */
  deadlineMs?: number;
  /** Extra request headers (e.g. Host). Never the canary header: that would defeat the measurement. */
  headers?: Record<string, string>;
  /** Connection pool to use (tests, custom TLS); default a fresh Agent closed afterwards. */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  verdict?: VerdictOptions;
}

/**
 * The canary never answered with its own version while the app does report versions: some answers came from
 * something that is neither stable's version nor the canary's (the canary's app reports another version than the
 * tag it was released as, or none at all), and not one carried the canary's. A canary expected to get traffic
 * (`expectedWeight` > 0) then cannot be told to be the one that answers: a failure, not an inconclusive split.
 */
export function canaryVersionNeverSeen(result: SplitCounts, expectedWeight: number): boolean {
  const reporting = result.stable + result.canary + (result.unknown - (result.missing ?? 0));
  return expectedWeight > 0 && result.canary === 0 && result.unknown > 0 && reporting > 0;
}

/** Sample `url` and judge the split. Sends only GETs; changes nothing. */
export async function observeSplit(o: ObserveSplitOptions): Promise<SplitResult> {
  const samples = o.samples ?? 200;
  const concurrency = Math.max(1, Math.min(o.concurrency ?? 8, samples));
  const timeoutMs = o.timeoutMs ?? 5_000;
  const header = o.versionHeader.toLowerCase();
  const counts: SplitCounts = { stable: 0, canary: 0, unknown: 0, missing: 0, errors: 0 };
  const examples = new Set<string>();
  const own = o.dispatcher ? undefined : new Agent({ connections: concurrency });
  const dispatcher = o.dispatcher ?? own!;
  const deadline = new AbortController();
  const timer = o.deadlineMs !== undefined ? setTimeout(() => deadline.abort(), o.deadlineMs) : undefined;
  const signal = o.signal ? AbortSignal.any([o.signal, deadline.signal]) : deadline.signal;
  let next = 0;

  const one = async (): Promise<void> => {
    try {
      const res = await request(o.url, {
        method: "GET",
        dispatcher,
        headers: { ...o.headers, "cache-control": "no-cache" },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal,
      });
      await res.body.dump();
      const raw = res.headers[header];
      const version = Array.isArray(raw) ? raw[0] : raw;
      if (version === o.canaryVersion) counts.canary++;
      else if (version === o.stableVersion) counts.stable++;
      else {
        counts.unknown++;
        if (version === undefined) counts.missing!++;
        if (examples.size < 5) examples.add(`HTTP ${res.statusCode} ${o.versionHeader}: ${version ?? "(missing)"}`);
      }
    } catch (err) {
      if (o.signal?.aborted) throw err;
      if (deadline.signal.aborted) return; // Cut short by the deadline: not an answer, not an error.
      counts.errors++;
      if (examples.size < 5) examples.add(`error: ${(err as Error).message}`);
    }
  };
  // A fixed pool of workers pulling from one counter: at most `concurrency` requests in flight.
  const worker = async (): Promise<void> => {
    while (next < samples && !signal.aborted) {
      next++;
      await one();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearTimeout(timer);
    await own?.close();
  }
  o.signal?.throwIfAborted();
  const result = { ...judgeSplit(counts, o.expectedWeight, o.verdict), examples: [...examples] };
  if (deadline.signal.aborted) result.summary += ` (sampling stopped at its deadline of ${o.deadlineMs} ms)`;
  return result;
}
