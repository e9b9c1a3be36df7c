/** Shared by the bench modules: the result shape and interleaved timing. See bench/index.ts for the convention. */

export interface BenchResult {
  /** What was measured. */
  name: string;
  /** Median wall time in milliseconds. */
  medianMs: number;
  runs: number;
  /** A ratio or other context worth a column. */
  note?: string;
}

export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times several variants `runs` times each, interleaved (A B A B …) so drift on the machine hits all of them
 * alike, after one warm-up round. Returns the wall times per variant.
 */
export async function timeRuns(runs: number, variants: Record<string, () => Promise<unknown>>): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const fn of Object.values(variants)) await fn();
  for (let i = 0; i < runs; i++) {
    for (const [name, fn] of Object.entries(variants)) {
      const start = performance.now();
      await fn();
      times[name].push(performance.now() - start);
    }
  }
  return times;
}
