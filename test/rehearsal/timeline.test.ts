/**
 * The timeline the rehearsal prints: each phase with weight, observed split, smoke results and duration; the time
 * to detect the bad release and until traffic was back on stable (with fixed timestamps, checked to the
 * millisecond); where traffic was afterwards; the verdict and the total. Then the same rendering from the real
 * CLI's --json records, released on the simulator, whose pods answer with the module's demo app.
 */
import { afterEach, describe, expect, it } from "vitest";
import { badReleaseTimings, parseRecord, renderTimeline, type StoryResult } from "#src/rehearsal/timeline.ts";
import { bin } from "../support/bin.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";
import { badRecordBeforeTraffic, badRecordWithTraffic, goodRecord } from "./support/records.ts";

const story = (over: Partial<StoryResult> = {}): StoryResult => ({
  cluster: "release-gate-rehearsal",
  clusterReused: false,
  nodeImage: "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
  router: "ingress-nginx",
  routerVersion: "ingress-nginx controller-v1.15.1",
  failure: "crash-loop",
  releasedAs: "ServiceAccount production/release-gate",
  setup: [
    { name: "kind cluster", ms: 52_000, detail: "created release-gate-rehearsal from kubernetes/local/kind.yaml" },
    { name: "router ingress-nginx installed", ms: 41_000, detail: "ingress-nginx controller-v1.15.1" },
  ],
  good: { tag: "2.0.0", expected: "succeeded", exitCode: 0, record: parseRecord(JSON.stringify(goodRecord())), ms: 71_000 },
  bad: {
    tag: "2.1.0-crash-loop",
    expected: "rolled-back",
    exitCode: 1,
    record: parseRecord(JSON.stringify(badRecordBeforeTraffic())),
    ms: 26_000,
  },
  afterRollback: [
    { host: "app.qualisys.localhost", total: 20, byVersion: { "2.0.0": 20 } },
    { host: "api.qualisys.localhost", total: 20, byVersion: { "2.0.0": 19, error: 1 } },
  ],
  problems: [],
  totalMs: 245_000,
  ...over,
});

describe("the timeline", () => {
  it("shows the setup, then each phase with weight, observed split, smoke results and duration", () => {
    const text = renderTimeline(story());
    expect(text).toMatch(/^## release-gate rehearsal on kind: ✅ the good release was promoted and the bad one rolled back by itself/);
    expect(text).toContain("kind `release-gate-rehearsal` (created, kindest/node:v1.35.0) on this machine's loopback");
    expect(text).toContain("crash-loop: the process exits 1 a few seconds after it starts");
    expect(text).toContain("| kind cluster | 52s | created release-gate-rehearsal from kubernetes/local/kind.yaml |");
    expect(text).toContain("### 1. Good release `2.0.0`: ✅ promoted (exit 0, 1m 10s)");
    expect(text).toContain(
      "| canary 10% | 10 % | qualisys-api 9.5 % of 10 % (200)<br>qualisys-web 11.0 % of 10 % (200) | ✓ canary 8/8 · ✓ public 8/8 | passed | 25s |",
    );
    expect(text).toContain("| promote | — | — | ✓ public 8/8 | passed | 8s |");
    expect(text).toContain("### 2. Bad release `2.1.0-crash-loop`: ↩️ rolled back by itself (exit 1, 25s)");
    expect(text).toContain("| canary 10% | 10 % | — | — | failed: qualisys-api-canary pod CrashLoopBackOff | 21s |");
    expect(text).toContain("**Total: 4m 5s**");
  });

  it("a bad canary caught before any traffic: detection time, and traffic that never left stable", () => {
    const t = badReleaseTimings(parseRecord(JSON.stringify(badRecordBeforeTraffic()))!);
    // From the first canary step's start (100 s) to the failure (121 s); weight 0 verified 0.5 s + 300 ms later.
    expect(t).toMatchObject({ detectMs: 21_000, backOnStableMs: 800, canaryHadTraffic: false });
    const text = renderTimeline(story());
    expect(text).toContain("- **Failure detected in:** canary 10%: qualisys-api-canary pod CrashLoopBackOff");
    expect(text).toContain("- **Time to detect the failure:** 21s (from the bad canary's first step starting)");
    expect(text).toContain(
      "- **Time until traffic was back on stable:** none left it: the bad canary failed before it got any traffic (weight 0 verified 800ms after detection)",
    );
  });

  it("a bad canary caught with users on it: how long until traffic was back on stable", () => {
    const record = parseRecord(JSON.stringify(badRecordWithTraffic()))!;
    // 200 s → 240 s to detect at 50 %; the rollback starts 0.3 s later and verifies weight 0 after 700 ms.
    expect(badReleaseTimings(record)).toMatchObject({ detectMs: 40_000, backOnStableMs: 1_000, canaryHadTraffic: true });
    const text = renderTimeline(
      story({ failure: "server-errors", bad: { tag: "2.1.0-server-errors", expected: "rolled-back", exitCode: 1, record, ms: 50_000 } }),
    );
    expect(text).toContain("- **Time until traffic was back on stable:** 1s (from detection to canary weight 0, verified)");
    expect(text).toContain(
      "| canary 50% | 50 % | qualisys-api 49.5 % of 50 % (200)<br>qualisys-web 51.0 % of 50 % (200) | ✓ canary 8/8 · ✗ public 3/4 |",
    );
    expect(text).toContain("- canary 50% · public http://app.qualisys.localhost · login: expected HTTP 200, got 500");
  });

  it("says where traffic was after the rollback, counting every other answer", () => {
    expect(renderTimeline(story())).toContain(
      "- **After the rollback, through the edge:** app.qualisys.localhost: 20/20 answered 2.0.0; api.qualisys.localhost: 19/20 answered 2.0.0 (1 error)",
    );
  });

  it("a story that went wrong says so at the top and lists why", () => {
    const text = renderTimeline(
      story({ bad: undefined, afterRollback: undefined, problems: ["the good release 2.0.0 was not promoted (exit 1, rolled-back)"] }),
    );
    expect(text).toMatch(/^## release-gate rehearsal on kind: ❌ the story did not go as a release should/);
    expect(text).toContain("### What went wrong\n\n- the good release 2.0.0 was not promoted (exit 1, rolled-back)");
    expect(text).not.toContain("Bad release");
  });

  it("a release without a record says what the CLI said instead", () => {
    const text = renderTimeline(
      story({
        bad: {
          tag: "2.1.0-crash-loop",
          expected: "rolled-back",
          exitCode: 2,
          verdict: "release-gate: refused: another release holds the lock",
          ms: 1_000,
        },
      }),
    );
    expect(text).toContain("### 2. Bad release `2.1.0-crash-loop`: 🛑 no record (exit 2, 1s)");
    expect(text).toContain("No release record: release-gate: refused: another release holds the lock");
  });

  it("reads only JSON records", () => {
    expect(parseRecord("")).toBeUndefined();
    expect(parseRecord("## release-gate deploy `2.0.0`")).toBeUndefined();
    expect(parseRecord(JSON.stringify({ tag: "x" }))).toBeUndefined();
  });
});

describe("from the real CLI's --json records (on the simulator, whose pods answer with the module's demo app)", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("renders a release promoted and one rolled back because its demo app misbehaves as its version says", async () => {
    h = await startHarness({});
    const good = await bin(h, ["deploy", "--tag", "2.0.0", "--json"]);
    expect(good.code, good.stderr).toBe(0);
    // No scenario makes this version fail: the demo app itself serves a maintenance page at /login for it.
    const bad = await bin(h, ["deploy", "--tag", "2.1.0-wrong-login", "--json"]);
    expect(bad.code, bad.stderr).toBe(1);
    const goodRecordParsed = parseRecord(good.stdout);
    const badRecordParsed = parseRecord(bad.stdout);
    expect(goodRecordParsed?.outcome).toBe("succeeded");
    expect(badRecordParsed?.outcome).toBe("rolled-back");
    const text = renderTimeline(
      story({
        failure: "wrong-login",
        good: { tag: "2.0.0", expected: "succeeded", exitCode: 0, record: goodRecordParsed, ms: 1 },
        bad: { tag: "2.1.0-wrong-login", expected: "rolled-back", exitCode: 1, record: badRecordParsed, ms: 1 },
      }),
    );
    expect(text).toContain("### 1. Good release `2.0.0`: ✅ promoted (exit 0,");
    expect(text).toMatch(
      new RegExp(
        /\| canary 10% \| 10 % \| qualisys-api [\d.]+ % of 10 % \(\d+\)<br>/.source +
          /qualisys-web [\d.]+ % of 10 % \(\d+\) \| ✓ canary (\d+)\/\1 · ✓ public (\d+)\/\2 \| passed \|/.source,
      ),
    );
    expect(text).toContain("### 2. Bad release `2.1.0-wrong-login`: ↩️ rolled back by itself (exit 1,");
    expect(text).toMatch(/login: .*Sign In/);
    const timings = badReleaseTimings(badRecordParsed!);
    expect(timings.failedStep?.name).toBe("canary 10%");
    expect(timings.detectMs).toBeGreaterThanOrEqual(0);
    expect(timings.backOnStableMs).toBeGreaterThanOrEqual(0);
    expect(timings.canaryHadTraffic).toBe(false);
  }, 120_000);
});
