/**
 * Progress output on an injected stream with a fake clock: one timestamp column, and a heartbeat during every wait
 * (at least every 10 s on a log; one line rewritten in place on a terminal) that says what is awaited and what the
 * waiter knows so far.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { elapsedColumn, HEARTBEAT_MS, streamProgress } from "#src/pipeline/progress.ts";

function sink(isTTY = false) {
  const chunks: string[] = [];
  return {
    stream: { isTTY, write: (s: string) => (chunks.push(s), true) },
    chunks,
    lines: () => chunks.join("").split("\n").filter(Boolean),
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
});
afterEach(() => vi.useRealTimers());

describe("progress on a log (CI)", () => {
  it("starts every line with the elapsed time in one fixed-width column", () => {
    const out = sink();
    const p = streamProgress({ stream: out.stream });
    p.step("canary 10%", 10);
    vi.advanceTimersByTime(65_000);
    p.info("weight 10 verified on 1 route object(s)");
    vi.advanceTimersByTime(11 * 60_000);
    p.warn("something odd");
    const lines = out.lines();
    expect(lines[0]).toBe("[+00:00] canary 10% · weight 10% · started");
    expect(lines[1]).toBe("[+01:05] canary 10% · weight 10% · weight 10 verified on 1 route object(s)");
    expect(lines[2]).toBe("[+12:05] canary 10% · weight 10% · WARNING: something odd");
    expect(new Set(lines.map((l) => l.indexOf("]")))).toEqual(new Set([7]));
    expect(elapsedColumn(100 * 60_000 + 1_000)).toBe("[+100:01]");
  });

  it("repeats a wait at least every 10 s with what the waiter knows, and stops at the next step", () => {
    const out = sink();
    const p = streamProgress({ stream: out.stream });
    p.step("canary 10%", 10);
    let probes = 0;
    p.waiting("the observation window to end", () => `${120 - Math.round(Date.now() / 1000 - 1767225600)}s left · ${probes} probes passed`);
    for (let t = 0; t < 60; t++) {
      vi.advanceTimersByTime(1_000);
      if (t % 4 === 3) probes++;
    }
    const beats = out.lines().filter((l) => l.includes("waiting for the observation window"));
    // The first line when the wait begins, then one per 10 s of silence: 7 over 60 s.
    expect(beats).toHaveLength(7);
    expect(beats[0]).toBe("[+00:00] canary 10% · weight 10% · waiting for the observation window to end · 120s left · 0 probes passed");
    expect(beats[1]).toBe(
      "[+00:10] canary 10% · weight 10% · waiting for the observation window to end (10s so far) · 110s left · 2 probes passed",
    );
    expect(beats[6]).toMatch(/^\[\+01:00\] .*\(1m 00s so far\) · 60s left · 14 probes passed$/);
    // No gap longer than the heartbeat between two lines.
    const times = out.lines().map((l) => Number(l.slice(2, 4)) * 60 + Number(l.slice(5, 7)));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(HEARTBEAT_MS / 1000);
    p.step("canary 50%", 50);
    const before = out.lines().length;
    vi.advanceTimersByTime(60_000);
    expect(out.lines().length).toBe(before);
  });

  it("another line during a wait postpones the heartbeat; a failing detail never breaks it", () => {
    const out = sink();
    const p = streamProgress({ stream: out.stream });
    p.waiting("canary pods Available", () => {
      throw new Error("boom");
    });
    vi.advanceTimersByTime(6_000);
    p.info("an event");
    vi.advanceTimersByTime(6_000);
    expect(out.lines().filter((l) => l.includes("waiting for"))).toHaveLength(1);
    vi.advanceTimersByTime(5_000);
    expect(out.lines().at(-1)).toBe("[+00:16] preflight · waiting for canary pods Available (16s so far)");
  });
});

describe("progress on a terminal", () => {
  it("rewrites one waiting line in place every second, and clears it before the next line", () => {
    const out = sink(true);
    const p = streamProgress({ stream: out.stream });
    p.step("canary 50%", 50);
    p.waiting("weight 50 to take effect", () => "pods Ready 2/2");
    vi.advanceTimersByTime(3_000);
    const rewrites = out.chunks.filter((c) => c.startsWith("\r\x1b[2K") && c.includes("waiting for weight 50"));
    expect(rewrites).toHaveLength(4);
    expect(rewrites.at(-1)).toBe(
      "\r\x1b[2K[+00:03] canary 50% · weight 50% · waiting for weight 50 to take effect (3s so far) · pods Ready 2/2",
    );
    // Nothing but the started line ended with a newline so far: the waiting line is one line.
    expect(out.chunks.join("").split("\n")).toHaveLength(2);
    p.info("weight 50 verified");
    expect(out.chunks.at(-2)).toBe("\r\x1b[2K");
    expect(out.chunks.at(-1)).toBe("[+00:03] canary 50% · weight 50% · weight 50 verified\n");
  });
});
