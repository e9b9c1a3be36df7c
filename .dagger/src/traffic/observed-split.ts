/**
 * The observed split: sample the public URL and count which version answered, where the app reports its
 * version in a response header (e.g. X-App-Version). This checks what users get, not what the objects say.
 *
 * Verdict. With n responses of a known version and expected canary share p, the canary count is binomial;
 * the observed share may differ from p by at most max(3σ, floor) (3 = `sigmas`), σ = sqrt(p(1−p)/n), floor default 0.05
 * (5 points): a false alarm then has a probability below about 0.3 %. At p = 0 and p = 1 (weight 0 and 100)
 * σ is 0 and no request may go to the wrong side (weight 0 is what a rollback must verify). If fewer than
 * `minKnownFraction` (default 0.9) of the samples report a known version, the verdict is "inconclusive".
 */
import { Agent, request, type Dispatcher } from "undici";

export interface SplitCounts {
  stable: number;
  canary: number;
  /** Responses whose version header is missing or neither version. */
  unknown: number;
  /** Requests that failed (connection error, timeout); status codes are not judged here. */
  errors: number;
}

export type SplitVerdict = "match" | "mismatch" | "inconclusive";

export interface SplitResult extends SplitCounts {
  samples: number;
  /** Canary share of the responses with a known version (0..1), NaN if none. */
  observed: number;
  expected: number;
  /** Allowed |observed − expected|. */
  tolerance: number;
  verdict: SplitVerdict;
  /** One line for logs and errors. */
  summary: string;
  /** Up to five distinct unknown versions / errors seen, for diagnosis. */
  examples: string[];
}

export interface VerdictOptions {
  /** How many standard deviations the observed share may stray (default 3). */
  sigmas?: number;
  /** Smallest tolerance (share, 0..1) for 0 < p < 1. Default 0.05. */
  floor?: number;
  /** Below this share of known versions the verdict is inconclusive. Default 0.9. */
  minKnownFraction?: number;
}

/** Judge counts against an expected canary weight (percent). Pure. */
export function judgeSplit(counts: SplitCounts, expectedWeight: number, opts: VerdictOptions = {}): Omit<SplitResult, "examples"> {
  const floor = opts.floor ?? 0.05;
  const sigmas = opts.sigmas ?? 3;
  const minKnown = opts.minKnownFraction ?? 0.9;
  const samples = counts.stable + counts.canary + counts.unknown + counts.errors;
  const known = counts.stable + counts.canary;
  const p = expectedWeight / 100;
  const observed = known > 0 ? counts.canary / known : Number.NaN;
  const tolerance = p <= 0 || p >= 1 ? 0 : Math.max(sigmas * Math.sqrt((p * (1 - p)) / Math.max(1, known)), floor);
  let verdict: SplitVerdict;
  if (samples === 0 || known / samples < minKnown) verdict = "inconclusive";
  else verdict = Math.abs(observed - p) <= tolerance + 1e-9 ? "match" : "mismatch";
  const pct = (x: number) => (Number.isNaN(x) ? "n/a" : `${Math.round(x * 1000) / 10} %`);
  const summary =
    `observed canary share ${pct(observed)} (${counts.canary} canary, ${counts.stable} stable, ${counts.unknown} unknown, ${counts.errors} ` +
    `errors of ${samples}), ` +
    `expected ${expectedWeight} % ± ${pct(tolerance)}: ${verdict}`;
  return { ...counts, samples, observed, expected: p, tolerance, verdict, summary };
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

/** Sample `url` and judge the split. Sends only GETs; changes nothing. */
export async function observeSplit(o: ObserveSplitOptions): Promise<SplitResult> {
  const samples = o.samples ?? 200;
  const concurrency = Math.max(1, Math.min(o.concurrency ?? 8, samples));
  const timeoutMs = o.timeoutMs ?? 5_000;
  const header = o.versionHeader.toLowerCase();
  const counts: SplitCounts = { stable: 0, canary: 0, unknown: 0, errors: 0 };
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
