import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { observeSplit } from "#src/traffic/observed-split.ts";

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
