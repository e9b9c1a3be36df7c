/** `release-gate plan` through the real bin: it reads only release.yaml, and says how to get within the budget. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { releaseGate } from "../support/run-cli.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rg-plan-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("refuses a plan over its budget (exit 2) and names both ways out: shorter windows or deadlines, or budget:", async () => {
  const doc = parse(await readFile("kubernetes/production/release.yaml", "utf8"));
  doc.phases[0].observe = "9m";
  const config = join(dir, "release.yaml");
  await writeFile(config, stringify(doc));
  const r = await releaseGate(["plan", "--tag", "1.4.2", "--config", config]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/over the 10m budget; costliest: canary 10%/);
  expect(r.stderr).toContain("Shorten observation windows (phases[].observe) or deadlines, or raise budget: in release.yaml");
});
