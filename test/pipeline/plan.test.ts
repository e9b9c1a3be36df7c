import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { parseReleaseConfig } from "#src/config/load.ts";
import { UsageError } from "#src/errors.ts";
import { assertWithinBudget, planRelease, planToText } from "#src/pipeline/plan.ts";
import { shareOfStable as canaryReplicas } from "#src/traffic/router.ts";

const production = parseReleaseConfig(readFileSync("kubernetes/production/release.yaml", "utf8"));

describe("plan", () => {
  it("turns the phases of release.yaml into steps, with the production config inside the 10 min budget", () => {
    const plan = planRelease(production);
    expect(plan.steps.map((s) => s.label)).toEqual(["canary 10%", "canary 50%", "canary 100%", "promote"]);
    expect(plan.steps[0].step).toMatchObject({ directSmoke: true, observeMs: 120_000 });
    expect(plan.steps[1].step).toMatchObject({ directSmoke: false });
    // 40 s available + 10 s direct smoke + 10 s verify + 6 s split sampling + 10 s smoke + 2 min observe.
    expect(plan.steps[0].worstCaseMs).toBe(196_000);
    expect(plan.worstCaseMs).toBeLessThanOrEqual(600_000);
    expect(() => assertWithinBudget(plan)).not.toThrow();
    expect(planToText(plan, "x")).toMatch(
      /Worst case: 9m 38s of a 10m budget \(every step at its deadline, then a failure at the end of promotion and its rollback\)/,
    );
  });

  it("counts the worst case honestly: the split sampling at its deadline in every phase, and a rollback from the latest point", () => {
    const plan = planRelease(production);
    const d = production.deadlines;
    // The observed split is sampled in each phase for at most observedSplit.deadline (not weightVerified: 200
    // samples of up to smoke.timeout each, 8 at a time, would otherwise take up to 2 minutes).
    expect(production.observedSplit.deadline).toBe(6_000);
    for (const s of plan.steps.filter((x) => x.step.kind === "canary")) {
      expect(s.actions.join(" ")).toMatch(/sample the public URL: .*200 requests, ≤ 6s/);
    }
    // A failure at the end of promotion, and its rollback (stable's previous revision rolled out again), is the latest point.
    const steps = plan.steps.reduce((sum, s) => sum + s.worstCaseMs, 0);
    expect(plan.worstCaseMs).toBe(plan.preflightMs + steps + plan.rollbackWorstCaseMs);
    expect(plan.rollbackWorstCaseMs).toBe(d.weightVerified + d.scaleDown + d.stableRollout);
    // A longer sampling deadline is paid in every phase, and can put the plan over budget.
    const slow = planRelease(
      parseReleaseConfig(
        stringify({ ...parse(readFileSync("kubernetes/production/release.yaml", "utf8")), observedSplit: { deadline: "2m" } }),
      ),
    );
    expect(slow.worstCaseMs - plan.worstCaseMs).toBe(3 * (120_000 - 6_000));
    expect(() => assertWithinBudget(slow)).toThrow(UsageError);
  });

  it("states a rollback's worst case before and after promotion started (stable's rollout back included)", () => {
    const plan = planRelease(production);
    // weightVerified 10 s + scaleDown 10 s; once promotion started, + stableRollout 60 s.
    expect(plan.rollbackBeforePromotionMs).toBe(20_000);
    expect(plan.rollbackWorstCaseMs).toBe(80_000);
    expect(planToText(plan, "x")).toMatch(
      /canary scaled to 0 \(worst case 20s\); after promotion started, stable's previous revision is restored and rolled out first \(worst case 1m 20s\)/,
    );
  });

  it("refuses a plan over budget, naming the costliest steps", () => {
    const doc = parse(readFileSync("kubernetes/production/release.yaml", "utf8"));
    doc.phases[1].observe = "5m";
    const plan = planRelease(parseReleaseConfig(stringify(doc)));
    let err: unknown;
    try {
      assertWithinBudget(plan);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(
      /over the 10m budget; costliest: canary 50% \(6m 6s\), canary 10% \(3m 16s\), canary 100% \(1m 36s\)/,
    );
  });

  it("--skip-canary plans promotion only", () => {
    const plan = planRelease(production, { skipCanary: true });
    expect(plan.steps.map((s) => s.label)).toEqual(["promote"]);
    expect(plan.steps[0].actions.join(" ")).toMatch(/canary skipped/);
  });

  it("sizes the canary for each weight, at least one pod, all of stable's at 100 %", () => {
    expect([10, 50, 100].map((w) => canaryReplicas(w, 4))).toEqual([1, 2, 4]);
    expect([10, 50, 100].map((w) => canaryReplicas(w, 9))).toEqual([1, 5, 9]);
    expect(canaryReplicas(10, 0)).toBe(1);
  });
});
