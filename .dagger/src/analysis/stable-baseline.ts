/**
 * Stable's side of a relative check when stable serves no traffic by design. At weight 100 every request goes to
 * the canary, so stable's rates are 0/0: no data that says nothing about stable, and no baseline to compare the
 * canary with. Stable's last value measured earlier in this release (the record's earlier steps, which a resumed
 * run carries too) stands in for it; with none, the relative bounds are not evaluated, and the record says why.
 */
import type { AnalysisEvaluation, RecordedValue } from "./record.ts";
import type { EarlierStable, IdleStable } from "./threshold.ts";

/** Stable gets requests at this canary weight: only below 100 (the last phase sends everything to the canary). */
export const stableServes = (weight: number): boolean => weight < 100;

const key = (check: string, service: string): string => `${check}\u0000${service}`;

const numeric = (v: RecordedValue | undefined): number | undefined =>
  typeof v === "number" ? v : v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : undefined;

/** Where stable's values come from when it serves nothing: the steps before this one, as recorded. */
export class StableBaselines {
  private readonly last = new Map<string, EarlierStable>();

  constructor(earlierSteps: ReadonlyArray<{ name: string; weight?: number; analysis?: AnalysisEvaluation[] }>) {
    for (const step of earlierSteps) {
      if (step.weight !== undefined && !stableServes(step.weight)) continue;
      for (const e of step.analysis ?? []) {
        for (const c of e.checks) {
          const value = numeric(c.stable);
          // Only values stable's own query measured: a carried one would name the wrong step.
          if (value !== undefined && c.stableFrom === undefined)
            this.last.set(key(c.check, c.service), { kind: "earlier", value, from: step.name });
        }
      }
    }
  }

  /** Stable's value for `check` of `service` at a weight where stable serves nothing. */
  for(check: string, service: string, weight: number): EarlierStable | IdleStable {
    return (
      this.last.get(key(check, service)) ?? {
        kind: "idle",
        why: `stable gets no traffic at ${weight}% and no earlier phase of this release measured its value`,
      }
    );
  }
}
