import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { parseReleaseConfig } from "#src/config/load.ts";
import {
  acceptedCounts,
  binomialPmf,
  DEFAULT_FALSE_ALARM_RATE,
  judgeSplit,
  observeSplit,
  type SplitCounts,
} from "#src/traffic/observed-split.ts";

// A loopback server answering as the canary on every k-th request (deterministic), like an edge splitting traffic.
let server: Server;
let url = "";
let canaryEvery = 0; // 0: never
let unknownEvery = 0;
let count = 0;
let inFlight = 0;
let maxInFlight = 0;
let holdUntil = 0; // >0: hold responses until this many requests are in flight, then answer them all
const held: Array<() => void> = [];

beforeAll(async () => {
  server = createServer((_req, res) => {
    count++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const n = count;
    const answer = () => {
      inFlight--;
      if (unknownEvery && n % unknownEvery === 0) res.end("no header");
      else res.setHeader("X-App-Version", canaryEvery && n % canaryEvery === 0 ? "v2" : "v1").end("ok");
    };
    if (!holdUntil) return setImmediate(answer);
    held.push(answer);
    if (held.length >= holdUntil) held.splice(0).forEach((f) => f());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const base = () => ({ url, versionHeader: "x-app-version", stableVersion: "v1", canaryVersion: "v2" });

describe("observeSplit against a real HTTP server", () => {
  it("counts versions and matches a 10 % split", async () => {
    canaryEvery = 10;
    unknownEvery = 0;
    const r = await observeSplit({ ...base(), expectedWeight: 10, samples: 200, concurrency: 4 });
    expect(r.samples).toBe(200);
    expect(r.canary + r.stable).toBe(200);
    expect(r.canary).toBeGreaterThanOrEqual(18);
    expect(r.canary).toBeLessThanOrEqual(22);
    expect(r.verdict).toBe("match");
  });

  it("reports a mismatch when the canary gets traffic at weight 0", async () => {
    canaryEvery = 20;
    const r = await observeSplit({ ...base(), expectedWeight: 0, samples: 100 });
    expect(r.canary).toBeGreaterThan(0);
    expect(r.verdict).toBe("mismatch");
    expect(r.summary).toContain("mismatch");
  });

  it("keeps `concurrency` requests in flight, never more", async () => {
    // The server answers only once 3 requests wait: a sampler with fewer in flight would hang, one with more
    // would push maxInFlight above 3.
    maxInFlight = 0;
    canaryEvery = 0;
    holdUntil = 3;
    try {
      const r = await observeSplit({ ...base(), expectedWeight: 0, samples: 30, concurrency: 3 });
      expect(r.stable).toBe(30);
      expect(maxInFlight).toBe(3);
    } finally {
      holdUntil = 0;
    }
  });

  it("counts missing versions and connection errors separately, and calls that inconclusive", async () => {
    canaryEvery = 0;
    unknownEvery = 2;
    const r = await observeSplit({ ...base(), expectedWeight: 0, samples: 40 });
    expect(r.unknown).toBeGreaterThanOrEqual(15);
    expect(r.verdict).toBe("inconclusive");
    expect(r.examples.some((e) => e.includes("(missing)"))).toBe(true);
    unknownEvery = 0;
    const dead = await observeSplit({ ...base(), url: "http://127.0.0.1:9/", expectedWeight: 0, samples: 5, concurrency: 2 });
    expect(dead.errors).toBe(5);
    expect(dead.verdict).toBe("inconclusive");
  });

  it("stops at its deadline: nothing sent after it, requests cut short not counted, the verdict on what came back", async () => {
    // The server holds every answer: without a deadline, sampling would wait for it as long as the per-request timeout.
    canaryEvery = 0;
    holdUntil = 1_000;
    count = 0;
    try {
      const r = await observeSplit({ ...base(), expectedWeight: 10, samples: 200, concurrency: 4, timeoutMs: 60_000, deadlineMs: 200 });
      expect(r.samples).toBe(0);
      expect(r.errors).toBe(0);
      expect(r.verdict).toBe("inconclusive");
      expect(r.summary).toMatch(/sampling stopped at its deadline of 200 ms/);
      expect(count).toBeLessThanOrEqual(4); // at most the four in flight when the deadline passed; none after
    } finally {
      holdUntil = 0;
      held.splice(0).forEach((answer) => answer());
    }
  });
});

const counts = (canary: number, stable: number, unknown = 0, errors = 0): SplitCounts => ({ canary, stable, unknown, errors });

describe("judgeSplit: the verdict means something at low weights", () => {
  it("0 canary answers of 200 at 10 % is a mismatch, and the message names the bound in points", () => {
    const r = judgeSplit(counts(0, 200), 10);
    expect(r.verdict).toBe("mismatch");
    expect(r.summary).toBe(
      "observed canary share 0 % (0 canary, 200 stable, 0 unknown, 0 errors of 200), expected 10 %, " +
        "acceptable 0.5 %–24.5 % (false-alarm rate 0.000001, tolerance ±2 points): mismatch",
    );
    expect(r.acceptable).toEqual([1 / 200, 49 / 200]);
    // Ordinary shares around 10 % match; far too many canary answers do not.
    expect(judgeSplit(counts(20, 180), 10).verdict).toBe("match");
    expect(judgeSplit(counts(8, 192), 10).verdict).toBe("match");
    expect(judgeSplit(counts(60, 140), 10).verdict).toBe("mismatch");
  });

  it("a canary that gets no traffic is never a match, however wide the tolerance", () => {
    // The old check accepted it with tolerance: 15 points. The slack stops half way to 0: too few samples for
    // that make it inconclusive (a warning), never a match.
    for (const tolerancePoints of [0, 2, 15, 50]) {
      for (const weight of [5, 10, 25, 50, 75]) {
        expect(judgeSplit(counts(0, 200), weight, { tolerancePoints }).verdict, `${weight} % ±${tolerancePoints}`).not.toBe("match");
        expect(judgeSplit(counts(200, 0), weight, { tolerancePoints }).verdict, `${weight} % ±${tolerancePoints}`).not.toBe("match");
      }
    }
  });

  it("says the tolerance it applied: never more than half the way to 0 or 100 %", () => {
    expect(judgeSplit(counts(10, 990), 1, { tolerancePoints: 15 }).summary).toContain("(false-alarm rate 0.000001, tolerance ±0.5 points)");
    expect(judgeSplit(counts(500, 500), 50, { tolerancePoints: 15 }).summary).toContain("tolerance ±15 points");
  });

  it("too few samples to tell a low weight from nothing: 0 canary answers is inconclusive, and says what to raise", () => {
    const r = judgeSplit(counts(0, 100), 10);
    expect(r.verdict).toBe("inconclusive");
    expect(r.summary).toContain(
      "100 responses cannot tell a 10 % canary from one that gets none of the traffic: raise observedSplit.samples",
    );
    expect(judgeSplit(counts(9, 91), 10).verdict).toBe("match");
    expect(judgeSplit(counts(45, 55), 10).verdict).toBe("mismatch");
  });

  it("with the shipped release.yaml, a canary that gets nothing fails at every phase weight below 100", () => {
    const config = parseReleaseConfig(readFileSync(new URL("../../kubernetes/production/release.yaml", import.meta.url), "utf8"));
    const { samples, falseAlarmRate, tolerancePoints } = config.observedSplit;
    for (const { weight } of config.phases.filter((p) => p.weight < 100)) {
      expect(judgeSplit(counts(0, samples), weight, { falseAlarmRate, tolerancePoints }).verdict, `${weight} %`).toBe("mismatch");
    }
  });

  it("is exact at weight 0 and 100: one request on the wrong side is a mismatch", () => {
    expect(judgeSplit(counts(0, 200), 0).verdict).toBe("match");
    expect(judgeSplit(counts(1, 199), 0).verdict).toBe("mismatch");
    expect(judgeSplit(counts(200, 0), 100).verdict).toBe("match");
    expect(judgeSplit(counts(199, 1), 100).verdict).toBe("mismatch");
  });

  it("is inconclusive when too few responses carry a known version", () => {
    const r = judgeSplit(counts(10, 80, 5, 10), 10);
    expect(r.verdict).toBe("inconclusive");
    expect(r.samples).toBe(105);
    expect(judgeSplit(counts(0, 0), 10).verdict).toBe("inconclusive");
  });
});

describe("judgeSplit: ordinary noise never fails a correct split", () => {
  /** Weights a phase may expect: the shipped phases, and what the replicas router reaches with whole pods. */
  const WEIGHTS = [1, 5, 9, 10, 20, 25, 100 / 3, 40, 50, 200 / 3, 75, 90, 95, 99];
  const SAMPLE_COUNTS = [10, 50, 100, 200, 500];

  it("binomialPmf is exact: it matches a BigInt computation", () => {
    // q = a/b as a fraction: P(X = k) = C(n, k) a^k (b − a)^(n − k) / b^n, computed exactly, then divided.
    const exact = (n: number, a: bigint, b: bigint) => {
      const out: number[] = [];
      let c = 1n;
      for (let k = 0; k <= n; k++) {
        if (k > 0) c = (c * BigInt(n - k + 1)) / BigInt(k);
        const num = c * a ** BigInt(k) * (b - a) ** BigInt(n - k);
        out.push(Number((num * 10n ** 30n) / b ** BigInt(n)) / 1e30);
      }
      return out;
    };
    for (const [n, a, b] of [
      [30, 1n, 10n],
      [200, 1n, 10n],
      [200, 37n, 100n],
      [57, 9n, 10n],
    ] as const) {
      const mine = binomialPmf(n, Number(a) / Number(b));
      exact(n, a, b).forEach((p, k) => expect(Math.abs(mine[k] - p), `n=${n} q=${a}/${b} k=${k}`).toBeLessThanOrEqual(1e-12 + p * 1e-9));
    }
  });

  it.each([DEFAULT_FALSE_ALARM_RATE, 1e-3, 0.01, 0.05])(
    "the exact chance that a correct split is called a mismatch stays below the false-alarm rate %s",
    (falseAlarmRate) => {
      for (const n of SAMPLE_COUNTS) {
        for (const weight of WEIGHTS) {
          const pmf = binomialPmf(n, weight / 100);
          let falseAlarm = 0;
          for (let x = 0; x <= n; x++)
            if (judgeSplit(counts(x, n - x), weight, { falseAlarmRate }).verdict === "mismatch") falseAlarm += pmf[x];
          expect(falseAlarm, `${n} samples at ${weight} %`).toBeLessThanOrEqual(falseAlarmRate);
        }
      }
    },
  );

  it("seeded simulated draws: false alarms below the stated rate at every phase weight and sample count", () => {
    // mulberry32: a small seeded generator, so the draws (and this test) are the same on every run.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const DRAWS = 1000;
    for (const falseAlarmRate of [DEFAULT_FALSE_ALARM_RATE, 0.01]) {
      for (const n of [100, 200, 1000]) {
        for (const weight of [10, 20, 25, 50, 75, 90]) {
          let alarms = 0;
          for (let d = 0; d < DRAWS; d++) {
            let canary = 0;
            for (let i = 0; i < n; i++) if (random() < weight / 100) canary++;
            if (judgeSplit(counts(canary, n - canary), weight, { falseAlarmRate }).verdict === "mismatch") alarms++;
          }
          expect(alarms, `${n} samples at ${weight} %, rate ${falseAlarmRate}`).toBeLessThanOrEqual(falseAlarmRate * DRAWS);
        }
      }
    }
  });

  it("acceptedCounts widens with the tolerance and narrows with more samples", () => {
    const [lo0, hi0] = acceptedCounts(200, 0.1, 0.1, 1e-6);
    const [lo2, hi2] = acceptedCounts(200, 0.08, 0.12, 1e-6);
    expect(lo2).toBeLessThanOrEqual(lo0);
    expect(hi2).toBeGreaterThanOrEqual(hi0);
    const [lo1k, hi1k] = acceptedCounts(1000, 0.08, 0.12, 1e-6);
    expect(hi1k / 1000 - lo1k / 1000).toBeLessThan(hi2 / 200 - lo2 / 200);
  });
});
