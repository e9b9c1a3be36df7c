/**
 * `npm run demo` never lets a simulated result read as a real one: every banner says the cluster is simulated,
 * every release record the CLI prints is marked so in its heading, and every step ends with a summary saying so.
 */
import { execa } from "execa";
import { expect, it } from "vitest";

it("npm run demo says SIMULATED on every banner, record heading and summary, and ends well", async () => {
  const r = await execa(process.execPath, ["scripts/demo.ts"], { reject: false, timeout: 240_000, env: { FORCE_COLOR: "0" } });
  const lines = String(r.stdout)
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n");
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  const banners = lines.filter((l) => l.startsWith("== "));
  const records = lines.filter((l) => l.startsWith("## release-gate "));
  const summaries = lines.filter((l) => l.startsWith("-- "));
  // Start, apply, plan, two deploys, status, history, done; a record for each deploy; a summary per step.
  expect(banners.length, lines.join("\n")).toBeGreaterThanOrEqual(8);
  expect(records).toHaveLength(2);
  expect(summaries.length).toBeGreaterThanOrEqual(banners.length);
  for (const line of [...banners, ...records, ...summaries]) expect(line).toContain("SIMULATED cluster");
  expect(records[0]).toMatch(/deploy `1\.1\.0` to production: ✅ succeeded \(SIMULATED cluster\)$/);
  expect(records[1]).toMatch(/deploy `1\.2\.0-bad` to production: ↩️ rolled back \(SIMULATED cluster\)$/);
  expect(summaries.at(-1)).toContain("nothing above touched a real cluster");
}, 300_000);
