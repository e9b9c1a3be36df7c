/**
 * Release records shaped as `release-gate deploy --json` prints them (audit/record.ts), with fixed timestamps so the
 * timeline's arithmetic can be checked exactly: a promoted release, and bad ones caught before or after users
 * reached them.
 */
const T0 = Date.parse("2026-08-20T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const smoke = (url: string, canary: boolean, failed?: { name: string; reason: string }) => ({
  url,
  canary,
  ok: !failed,
  checks: ["health", "ready", "login", "user-me"].map((name) =>
    failed?.name === name ? { name, ok: false, latencyMs: 5, reason: failed.reason } : { name, ok: true, latencyMs: 5 },
  ),
});
const both = (canary: boolean) => [smoke("http://api.qualisys.localhost", canary), smoke("http://app.qualisys.localhost", canary)];
const split = (w: number) => [
  { service: "qualisys-api", expected: w, observed: w - 0.5, samples: 200 },
  { service: "qualisys-web", expected: w, observed: w + 1, samples: 200 },
];

const step = (name: string, weight: number | undefined, from: number, to: number, result: string, extra: Record<string, unknown> = {}) => ({
  name,
  ...(weight !== undefined ? { weight } : {}),
  startedAt: at(from),
  finishedAt: at(to),
  durationMs: (to - from) * 1000,
  result,
  smoke: [],
  ...extra,
});

export function goodRecord(tag = "2.0.0") {
  return {
    id: "r1",
    command: "deploy",
    namespace: "production",
    tag,
    triggeredBy: "release-gate-rehearsal",
    startedAt: at(0),
    finishedAt: at(70),
    durationMs: 70_000,
    outcome: "succeeded",
    services: [],
    steps: [
      step("canary 10%", 10, 0, 25, "passed", { smoke: [...both(true), ...both(false)], observedSplit: split(10) }),
      step("canary 50%", 50, 25, 45, "passed", { smoke: [...both(true), ...both(false)], observedSplit: split(50) }),
      step("canary 100%", 100, 45, 62, "passed", { smoke: both(false), observedSplit: split(100) }),
      step("promote", undefined, 62, 70, "passed", { smoke: both(false) }),
    ],
    finalState: `stable runs ${tag}`,
  };
}

/** Crash-looping canary: fails while becoming Available at 10 %, before any weight was set. */
export function badRecordBeforeTraffic(tag = "2.1.0-crash-loop") {
  return {
    id: "r2",
    command: "deploy",
    namespace: "production",
    tag,
    triggeredBy: "release-gate-rehearsal",
    startedAt: at(100),
    finishedAt: at(125),
    durationMs: 25_000,
    outcome: "rolled-back",
    rollbackReason: "canary 10%: qualisys-api-canary pod CrashLoopBackOff",
    rollbackTimings: { weightZeroMs: 300, restoredMs: 1_800 },
    services: [],
    steps: [
      step("canary 10%", 10, 100, 121, "failed", { detail: "qualisys-api-canary pod CrashLoopBackOff" }),
      step("rollback", 0, 121.5, 123.3, "passed", { detail: "weight 0 verified; canary scaled to 0; weight 0 after 300 ms" }),
    ],
    finalState: "stable runs 2.0.0",
  };
}

/** 5xx on some requests: passed 10 %, caught at 50 % with users on it. */
export function badRecordWithTraffic(tag = "2.1.0-server-errors") {
  return {
    id: "r3",
    command: "deploy",
    namespace: "production",
    tag,
    triggeredBy: "release-gate-rehearsal",
    startedAt: at(200),
    finishedAt: at(250),
    durationMs: 50_000,
    outcome: "rolled-back",
    rollbackReason: "canary 50%: smoke failed",
    rollbackTimings: { weightZeroMs: 700, restoredMs: 2_000 },
    services: [],
    steps: [
      step("canary 10%", 10, 200, 222, "passed", { smoke: [...both(true), ...both(false)], observedSplit: split(10) }),
      step("canary 50%", 50, 222, 240, "failed", {
        detail: "smoke failed: login expected HTTP 200, got 500",
        smoke: [...both(true), smoke("http://app.qualisys.localhost", false, { name: "login", reason: "expected HTTP 200, got 500" })],
        observedSplit: split(50),
      }),
      step("rollback", 0, 240.3, 242, "passed"),
    ],
    finalState: "stable runs 2.0.0",
  };
}
