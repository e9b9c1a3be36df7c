/**
 * The history ConfigMap is bounded by size as well as by count: a ConfigMap holds at most 1 MiB (the simulator
 * refuses more, as the API server does), and records grow with every smoke result, observed split and metric
 * evaluation. Storing a record never fails for its size: the newest records that fit stay, and the record, the
 * warning and the Event say how many older ones were dropped.
 */
import { afterEach, describe, expect, it } from "vitest";
import { appendHistory, asideConfigMapName, fitRecords, HISTORY_CONFIGMAP, HISTORY_MAX_BYTES, readHistory } from "#src/audit/history.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { storeRecord } from "#src/audit/store.ts";
import type { Kube } from "#src/kube/client.ts";
import type { Sim } from "../sim/index.ts";
import { startBareSim } from "../support/bare-sim.ts";

const NS = "production";
const KIB = 1024;
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), "utf8");

/** A record of about `kib` KiB: its bulk in smoke checks (every 10th failing) and metric evaluations, as long releases have. */
function record(n: number, kib: number): ReleaseRecord {
  const checks = Array.from({ length: Math.ceil(kib / 2) }, (_, i) => ({
    name: `check-${i}`,
    ok: i % 10 !== 0,
    latencyMs: 12,
    reason: `answer ${"é".repeat(200)} `.repeat(2).slice(0, 500),
  }));
  return {
    id: `record-${n}`,
    command: "deploy",
    namespace: NS,
    tag: `1.${n}.0`,
    triggeredBy: "tester",
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    outcome: "succeeded",
    services: [{ name: "qualisys-api", previousImage: "r/api:1", newImage: `r/api:1.${n}.0` }],
    steps: [
      {
        name: "canary 10%",
        startedAt: "2026-01-01T00:00:00Z",
        result: "passed",
        detail: "observed 5m",
        smoke: [{ url: "https://api.qualisys.io", canary: false, ok: true, checks }],
        // An evaluation every 15 s of a long window, four checks each, with the reason a check gives.
        analysis: Array.from({ length: Math.ceil(kib / 2) }, (_, i) => ({
          n: i + 1,
          at: "2026-01-01T00:00:00.000Z",
          checks: ["error-rate", "latency-p99"].flatMap((check) =>
            ["qualisys-api", "qualisys-web"].map((service) => ({
              check,
              service,
              canary: 0.0123,
              stable: 0.0119,
              result: "pass" as const,
              reason: "canary 0.0123 <= max 0.02 and <= stable 0.0119 + 0.01 " + "·".repeat(60),
            })),
          ),
        })),
      },
    ],
  };
}

describe("fitRecords", () => {
  it("keeps the newest record and the newer of the older ones that fit, and says how many were dropped", () => {
    const older = Array.from({ length: 19 }, (_, i) => record(19 - i, 120));
    expect(bytes(older)).toBeGreaterThan(2 * 1024 * KIB);
    const fitted = fitRecords(record(20, 120), older, 20, HISTORY_MAX_BYTES);
    expect(bytes(fitted.records)).toBeLessThanOrEqual(HISTORY_MAX_BYTES);
    expect(fitted.records.map((r) => r.id)).toEqual(["record-20", ...older.slice(0, fitted.records.length - 1).map((r) => r.id)]);
    expect(fitted.records.length).toBeGreaterThan(4);
    expect(fitted.droppedForSize).toBe(19 - (fitted.records.length - 1));
    expect(fitted.records[0]!.historyTrimmed).toEqual({ olderDropped: fitted.droppedForSize });
    // Within the limit and the room, nothing is given up, and nothing says so.
    const small = fitRecords(record(3, 1), [record(2, 1), record(1, 1)], 20, HISTORY_MAX_BYTES);
    expect(small).toMatchObject({ droppedForSize: 0, detailLeftOut: false });
    expect(small.records[0]).not.toHaveProperty("historyTrimmed");
    // The count limit is not a loss for size.
    expect(fitRecords(record(3, 1), [record(2, 1), record(1, 1)], 2, HISTORY_MAX_BYTES).droppedForSize).toBe(0);
  });

  it("a record too big alone is kept without its per-check detail: the failed checks stay", () => {
    const huge = record(1, 1500);
    expect(bytes(huge)).toBeGreaterThan(HISTORY_MAX_BYTES);
    // An older record that cannot fit next to even the compacted newest one.
    const fitted = fitRecords(huge, [record(0, 900)], 20, HISTORY_MAX_BYTES);
    expect(bytes(fitted.records)).toBeLessThanOrEqual(HISTORY_MAX_BYTES);
    const stored = fitted.records[0]!;
    expect(stored.historyTrimmed).toEqual({ olderDropped: 1, detailLeftOut: true });
    expect(stored.steps[0]!.analysis).toBeUndefined();
    expect(stored.steps[0]!.smoke[0]!.checks.every((c) => !c.ok)).toBe(true);
    expect(stored.steps[0]!.smoke[0]!.checks).toHaveLength(huge.steps[0]!.smoke[0]!.checks.filter((c) => !c.ok).length);
  });
});

describe("the history ConfigMap on the simulator (which refuses a ConfigMap over 1 MiB, as the API server does)", () => {
  let sim: Sim | undefined;
  let kube: Kube;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it("stores every record of a long series of large ones, the newest first, and the ConfigMap stays under the limit", async () => {
    ({ sim, kube } = await startBareSim(NS));
    for (let n = 1; n <= 12; n++) await appendHistory(kube, NS, record(n, 120), 20);
    const cm = await kube.core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace: NS });
    const size = Object.values(cm.data ?? {}).reduce((s, v) => s + Buffer.byteLength(v, "utf8"), 0);
    expect(size).toBeLessThanOrEqual(HISTORY_MAX_BYTES);
    const history = await readHistory(kube, NS);
    expect(history[0]!.id).toBe("record-12");
    expect(history.map((r) => r.id)).toEqual(Array.from({ length: history.length }, (_, i) => `record-${12 - i}`));
    expect(history.length).toBeGreaterThan(4);
    expect(history.length).toBeLessThan(12);
    // Records of one size: once the history is full, each new one pushes out exactly one (the ones before went earlier).
    expect(history[0]!.historyTrimmed?.olderDropped).toBe(1);
  });

  it("content set aside twice (500 KiB each) is moved, unchanged, to ConfigMaps of its own: the next record is stored", async () => {
    ({ sim, kube } = await startBareSim(NS));
    const junk = (c: string) => c.repeat(500 * KIB);
    const earlier = "records.unreadable.2026-01-01T000000000Z.json";
    // Damage set aside once already, and records.json damaged again: moved aside too, 1000 KiB of it in all.
    await kube.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: HISTORY_CONFIGMAP }, data: { [earlier]: junk("a"), "records.json": junk("b") } },
    });
    const said: string[] = [];
    await appendHistory(kube, NS, record(1, 120), 20, (m) => said.push(m));
    expect((await readHistory(kube, NS)).map((r) => r.id)).toEqual(["record-1"]);
    const cm = await kube.core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace: NS });
    expect(Object.keys(cm.data ?? {})).toEqual(["records.json"]);
    // Each went, whole, to a ConfigMap of its own, the oldest first.
    const moved = [...said.join().matchAll(/key (records\.unreadable\.[^ ]+\.json) to ConfigMap production\/([a-z0-9-]+)/g)];
    expect(moved.map((m) => m[1])).toEqual([earlier, expect.stringMatching(/^records\.unreadable\.\d{4}-/)]);
    for (const [, key, name] of moved) {
      expect(name).toBe(asideConfigMapName(key!));
      const own = await kube.core.readNamespacedConfigMap({ name: name!, namespace: NS });
      expect(own.data).toEqual({ [key!]: key === earlier ? junk("a") : junk("b") });
    }
    expect(asideConfigMapName(earlier)).toBe("release-gate-history-unreadable-2026-01-01t000000000z");
  });

  it("storeRecord says how many older records were dropped: in the record, a warning and the Event", async () => {
    ({ sim, kube } = await startBareSim(NS));
    for (let n = 1; n <= 7; n++) await appendHistory(kube, NS, record(n, 120), 20);
    const warnings: string[] = [];
    const rec = record(8, 300);
    const stored = await storeRecord(kube, rec, {
      namespace: NS,
      historyLimit: 20,
      deployments: [{ name: "qualisys-api-stable" }],
      warn: (m) => warnings.push(m),
    });
    expect(stored).toBe(true);
    const dropped = rec.historyTrimmed?.olderDropped ?? 0;
    expect(dropped).toBeGreaterThan(0);
    expect((await readHistory(kube, NS))[0]!.historyTrimmed).toEqual({ olderDropped: dropped });
    expect(warnings).toEqual([
      `ConfigMap production/release-gate-history keeps at most 900 KiB of records (a ConfigMap holds 1 MiB): ${dropped} older record(s) ` +
        "dropped to make room for it (the record printed here is whole)",
    ]);
    const events = await kube.core.listNamespacedEvent({ namespace: NS });
    expect(events.items.map((e) => e.message)).toEqual([
      `release-gate deploy 1.8.0 by tester: succeeded [release history: ${dropped} older record(s) dropped for size]`,
    ]);
  });
});
