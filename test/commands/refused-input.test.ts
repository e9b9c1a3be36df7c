/**
 * Input that is accepted but cannot work is refused before anything changes (issue 13, items 12 and 14), through
 * the real bin against the simulator: settings no release could meet, a YAML alias bomb, and a tag that moves.
 * "Nothing changed" is the simulator's own resourceVersion, unchanged.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin } from "../support/bin.ts";
import { releaseGate } from "../support/run-cli.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectResting } from "../support/scenario.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ services: ["qualisys-api"] });
}, 60_000);
afterAll(() => h?.stop());

let n = 0;
/** The scenario's release.yaml with `edit` applied, or `text` as it is, in a file of its own. */
async function configWith(edit: ((doc: any) => void) | string): Promise<string> {
  const path = join(h.dir, `release-${++n}.yaml`);
  if (typeof edit === "string") await writeFile(path, edit);
  else {
    const doc = parse(await readFile(h.configPath, "utf8"));
    edit(doc);
    await writeFile(path, stringify(doc));
  }
  return path;
}

async function refused(args: string[], config: string): Promise<string> {
  const rv = h.sim.store.resourceVersion();
  const r = await bin(h, args, config);
  expect(r.code, r.stderr).toBe(2);
  expect(h.sim.store.resourceVersion(), "the cluster changed").toBe(rv);
  return r.stderr;
}

describe("12. settings that cannot work are refused by the schema (exit 2, nothing changed)", () => {
  it.each([
    ["deadlines.weightVerified: 0s", (d: any) => (d.deadlines.weightVerified = "0s"), /deadlines\.weightVerified: must be at least 1s/],
    [
      "deadlines.scaleDown: 0s (a zero rollback deadline)",
      (d: any) => (d.deadlines.scaleDown = "0s"),
      /deadlines\.scaleDown: must be at least 1s/,
    ],
    [
      "deadlines.canaryAvailable: 10ms",
      (d: any) => (d.deadlines.canaryAvailable = "10ms"),
      /deadlines\.canaryAvailable: must be at least 1s/,
    ],
    ["smoke.timeout: 0s", (d: any) => (d.smoke.timeout = "0s"), /smoke\.timeout: must be at least 100ms/],
    ["smoke.probeInterval: 0s", (d: any) => (d.smoke.probeInterval = "0s"), /smoke\.probeInterval: must be at least 100ms/],
    [
      "a smoke timeout longer than the suite's deadline",
      (d: any) => (d.smoke.timeout = "30s"),
      /smoke\.timeout: a smoke check's timeout \(30s\) cannot be longer than deadlines\.smoke/,
    ],
    ["observedSplit.deadline: 0s", (d: any) => (d.observedSplit.deadline = "0s"), /observedSplit\.deadline: must be at least 1s/],
    ["lock.ttl: 0s", (d: any) => (d.lock.ttl = "0s"), /lock\.ttl: must be at least 3s/],
    ["budget: 0s", (d: any) => (d.budget = "0s"), /budget: must be at least 1m/],
  ])("%s", async (_what, edit, named) => {
    const stderr = await refused(["deploy", "--tag", "1.1.0"], await configWith(edit));
    expect(stderr).toMatch(named);
  });

  it("a YAML alias bomb (billion laughs) is refused, not expanded", async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const stderr = await refused(["deploy", "--tag", "1.1.0"], await configWith(`${levels.join("\n")}\nnamespace: production\n`));
    expect(stderr).toMatch(/cannot be read: .*alias/i);
    expect(stderr).toMatch(/nothing was changed in the cluster/);
  });
});

describe("14. a mutable tag is refused unless --allow-mutable-tag", () => {
  it("latest, and tags release.yaml's mutableTags names, are refused by deploy, canary, promote and plan", async () => {
    const config = await configWith((d) => (d.mutableTags = ["main-*", "nightly"]));
    for (const tag of ["latest", "main-4f2a9c", "nightly"]) {
      const mutable = new RegExp(`refused --tag ${tag}: it is a mutable tag .*--allow-mutable-tag`);
      for (const args of [["deploy"], ["canary", "--weight", "10"], ["promote"]]) {
        expect(await refused([...args, "--tag", tag], config)).toMatch(mutable);
      }
      // plan reaches no cluster: it says what deploy would refuse.
      const plan = await releaseGate(["plan", "--tag", tag, "--config", config]);
      expect(plan.code).toBe(2);
      expect(plan.stderr).toMatch(mutable);
    }
    expect(await refused(["deploy", "--tag", "latest"], h.configPath)).toMatch(/`latest` always moves/);
  });

  it("with --allow-mutable-tag the release goes ahead, and stable gets the digest the canary ran", async () => {
    const r = await bin(h, ["deploy", "--tag", "latest", "--allow-mutable-tag"]);
    expect(r.code, r.stderr).toBe(0);
    const rec = await expectResting(h, "latest", "succeeded", ["qualisys-api"]);
    expect(rec.services[0]?.finalImage).toMatch(/@sha256:/);
  });
});
