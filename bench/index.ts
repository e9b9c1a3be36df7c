/**
 * `npm run bench [-- NAME…]`: runs every bench/*.bench.ts module (or those whose file name contains a NAME) one
 * after another and prints one table. Timing goals live here, never as assertions in tests.
 *
 * Convention for a bench module (bench/<area>.bench.ts):
 *   export async function run(): Promise<BenchResult[]>
 * Each result is one measured thing: its name, the median wall time over `runs` runs, and an optional note
 * (a ratio, a size). Compare things side by side in the same run (interleaved), never across runs. Import
 * `BenchResult`, `medianOf` and `timeRuns` from ./lib.ts (not from this file: it is the entry point).
 */
import { readdir } from "node:fs/promises";
import type { BenchResult } from "./lib.ts";

async function main(filters: string[]): Promise<void> {
  const dir = new URL("./", import.meta.url);
  const files = (await readdir(dir))
    .filter((f) => f.endsWith(".bench.ts") && (filters.length === 0 || filters.some((n) => f.includes(n))))
    .sort();
  if (files.length === 0) {
    console.error(`bench: no bench/*.bench.ts matches ${filters.join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const rows: string[][] = [];
  for (const file of files) {
    const mod = (await import(new URL(file, dir).href)) as { run?: () => Promise<BenchResult[]> };
    if (typeof mod.run !== "function") throw new Error(`bench/${file} must export run(): Promise<BenchResult[]>`);
    process.stderr.write(`bench: ${file}…\n`);
    for (const r of await mod.run())
      rows.push([file.replace(/\.bench\.ts$/, ""), r.name, String(r.runs), r.medianMs.toFixed(1), r.note ?? ""]);
  }
  const header = ["AREA", "MEASURE", "RUNS", "MEDIAN MS", "NOTE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    );
}

await main(process.argv.slice(2));
