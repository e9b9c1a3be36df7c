/**
 * Records that survive (issue 13, items 10 and 11), through the real bin against the simulator: a run killed
 * between marking its state done, storing its record and clearing the state leaves one or the other, never neither,
 * and the next command finishes the job; a damaged history ConfigMap is validated, kept aside and recorded over.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { bin, spawnBin, waitLockStale } from "../support/bin.ts";
import { CONFIGMAPS, NS, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const data = (h: Harness, name: string) => (h.sim.store.get(CONFIGMAPS, NS, name) as { data?: Record<string, string> } | undefined)?.data;

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("10. a kill around the record: the state or the record, never neither", () => {
  it.each([
    [
      "after the state was marked done, before the record was stored",
      { verb: "get", path: "configmaps/release-gate-history$" } as const,
      (h: Harness) => (data(h, "release-gate-state")?.["inflight.json"] ?? "").includes('"kind":"done"'),
      { stored: false },
    ],
    [
      "after the record was stored, before the state was cleared",
      { verb: "delete", path: "configmaps/release-gate-state$" } as const,
      (h: Harness) => (data(h, "release-gate-history")?.["records.json"] ?? "").includes('"command":"deploy"'),
      { stored: true },
    ],
  ])(
    "killed %s: the next command stores the record once and clears the state",
    async (_when, hang, reached, expected) => {
      h = await startHarness({ config: (d) => (d.lock.ttl = "6s") });
      const harness = h;
      // That request hangs, so the kill lands exactly between the two writes.
      harness.sim.faults.add({ ...hang, fault: { type: "latency", ms: 30_000 } });
      const run = spawnBin(harness, ["deploy", "--tag", "1.1.0"]);
      await until("the run to reach the kill point", () => reached(harness));
      run.kill("SIGKILL");
      await run;
      harness.sim.faults.clear();
      await waitLockStale(harness); // By the clock too: the scenario tests the record, not the takeover.
      const state = await inspectInFlight(harness.env.kube, NS);
      expect(state.kind === "ok" && state.state.step).toEqual({ kind: "done", outcome: "succeeded" });
      const id = state.kind === "ok" ? state.state.record.id : "";
      expect((await readHistory(harness.env.kube, NS)).map((r) => r.id)).toEqual(expected.stored ? [id] : []);
      // history shows it either way.
      const shown = await bin(harness, ["history", "--json"]);
      expect(shown.code, shown.stderr).toBe(0);
      expect((JSON.parse(shown.stdout) as ReleaseRecord[]).map((r) => r.id)).toEqual([id]);
      if (!expected.stored) expect(shown.stderr).toMatch(/the newest record .* is not in ConfigMap production\/release-gate-history yet/);
      // The next command (it takes the dead run's lock over) stores the record, once, and clears the state.
      const rb = await bin(harness, ["rollback"]);
      expect(rb.code, rb.stderr).toBe(0);
      expect(rb.stderr).toMatch(
        /release 1\.1\.0 finished \(succeeded\) but its run did not clear its in-flight state: storing its record, clearing it/,
      );
      const history = await readHistory(harness.env.kube, NS);
      expect(history.map((r) => [r.command, r.outcome])).toEqual([
        ["rollback", "no-change"],
        ["deploy", "succeeded"],
      ]);
      expect(history[1]?.id).toBe(id);
      await expectResting(harness, "1.1.0", "no-change");
      expectInvariants(harness);
    },
    90_000,
  );
});

describe("11. a damaged release-gate-history", () => {
  it.each([
    ["an object, not a list", '{"not":"a list"}', /records\.json is not a list of records \(it is object\)/],
    ["not JSON", "[{truncated", /records\.json is not JSON/],
  ])(
    "%s: history says what is wrong; the next release moves it aside and records",
    async (_what, text, named) => {
      h = await startHarness({});
      const created = await h.kubectl.run(["create", "configmap", "release-gate-history", "-n", NS, `--from-literal=records.json=${text}`]);
      expect(created.exitCode, created.stderr).toBe(0);
      const raw = /TypeError|SyntaxError|is not a function|Unexpected token/;
      const damaged = await bin(h, ["history"]);
      expect(damaged.code).toBe(1);
      expect(damaged.stderr).toMatch(/history: ConfigMap production\/release-gate-history is damaged: /);
      expect(damaged.stderr).toMatch(named);
      expect(damaged.stderr).not.toMatch(raw);
      const release = await bin(h, ["deploy", "--tag", "1.1.0"]);
      expect(release.code, release.stderr).toBe(0);
      expect(release.stderr).toMatch(
        /that content was moved aside, unchanged, to key records\.unreadable\.\S+\.json, and the history goes on/,
      );
      const cm = data(h, "release-gate-history")!;
      const aside = Object.keys(cm).filter((k) => k.startsWith("records.unreadable."));
      expect(aside).toHaveLength(1);
      expect(cm[aside[0]!]).toBe(text);
      const after = await bin(h, ["history", "--json"]);
      expect(after.code, after.stderr).toBe(0);
      expect((JSON.parse(after.stdout) as ReleaseRecord[]).map((r) => [r.command, r.tag, r.outcome])).toEqual([
        ["deploy", "1.1.0", "succeeded"],
      ]);
      expect(after.stderr).toContain(
        `earlier unreadable content of ConfigMap production/release-gate-history is kept aside under key(s) ${aside[0]}`,
      );
      await expectResting(h, "1.1.0", "succeeded");
    },
    90_000,
  );

  it("entries that are not records: history shows the others and names what is wrong", async () => {
    h = await startHarness({});
    await bin(h, ["deploy", "--tag", "1.1.0"]);
    const [good] = await readHistory(h.env.kube, NS);
    const patch = { data: { "records.json": JSON.stringify([good, { id: 7, outcome: "great" }]) } };
    const p = await h.kubectl.run(["patch", "configmap", "release-gate-history", "-n", NS, "--type=merge", "-p", JSON.stringify(patch)]);
    expect(p.exitCode, p.stderr).toBe(0);
    const shown = await bin(h, ["history", "--json"]);
    expect(shown.code).toBe(1);
    expect((JSON.parse(shown.stdout) as ReleaseRecord[]).map((r) => r.id)).toEqual([good!.id]);
    expect(shown.stderr).toMatch(/1 of the 2 entries of records\.json are not release records \(entry 1: id: /);
    await expectResting(h, "1.1.0", "succeeded");
  }, 90_000);
});
