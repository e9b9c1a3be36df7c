/**
 * The release plan: the steps deploy will take, as data derived from release.yaml, each with its worst-case
 * duration (every deadline hit, every window waited out), and the worst case of the whole release: every step at
 * its worst, then a failure at the latest point (the end of promotion) and the rollback from there. The phase
 * machine walks these steps; `plan` prints them; preflight refuses a plan whose worst case exceeds the budget.
 */
import { analysisOverrunMs, analysisPlanAction } from "../analysis/index.ts";
import { formatDuration } from "../config/duration.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import { routerType } from "../traffic/routing.ts";

export type Step = { kind: "canary"; weight: number; observeMs: number; directSmoke: boolean } | { kind: "promote" };

export interface PlannedStep {
  step: Step;
  label: string;
  actions: string[];
  worstCaseMs: number;
}

export interface ReleasePlan {
  steps: PlannedStep[];
  preflightMs: number;
  /** Preflight, every step at its worst, then the rollback from the latest point (rollbackWorstCaseMs). */
  worstCaseMs: number;
  budgetMs: number;
  /**
   * Worst case of a rollback once promotion started (stable's previous revision restored and rolled out, then
   * weight 0 verified and the canary scaled down): the longest a rollback can take, and its deadline then.
   */
  rollbackWorstCaseMs: number;
  /** Worst case of a rollback before promotion (weight 0 verified, canary scaled down; stable untouched). */
  rollbackBeforePromotionMs: number;
}

/** Reading the cluster, taking the lock, writing the state: a few requests, bounded generously. */
const PREFLIGHT_MS = 5_000;

export function stepLabel(step: Step): string {
  return step.kind === "canary" ? `canary ${step.weight}%` : "promote";
}

export function planRelease(config: ReleaseConfig, opts: { skipCanary?: boolean } = {}): ReleasePlan {
  const d = config.deadlines;
  const router = routerType(config.router.kind);
  const split = config.observedSplit;
  const services = config.services.map((s) => s.name).join(", ");
  const steps: PlannedStep[] = [];
  if (!opts.skipCanary) {
    config.phases.forEach((phase, i) => {
      const step: Step = { kind: "canary", weight: phase.weight, observeMs: phase.observe, directSmoke: i === 0 && router.headerRouting };
      const setsWeight = router.describeWeight(phase.weight);
      const actions = [
        `${router.describeSizing(phase.weight, services)} and wait until Available (≤ ${formatDuration(d.canaryAvailable)})`,
        ...(step.directSmoke
          ? [
              `smoke-test the canary directly through the ${config.router.canaryHeader.name} header, before any user traffic (≤ ${formatDuration(d.smoke)})`,
            ]
          : []),
        `${setsWeight ?? "read the weight the Ready pods give"} (≤ ${formatDuration(d.weightVerified)})`,
        ...(split.enabled
          ? [
              `sample the public URL: observed canary share within the binomial bound ±${split.tolerancePoints} points ` +
                `(${split.samples} requests, ≤ ${formatDuration(split.deadline)})`,
            ]
          : []),
        `smoke-test the public URL (≤ ${formatDuration(d.smoke)})`,
        ...(phase.observe > 0
          ? [
              `observe ${formatDuration(phase.observe)}: canary readiness, restarts, crash loops, pull errors, Deployment conditions, smoke ` +
                `probes every ${formatDuration(config.smoke.probeInterval)}`,
            ]
          : []),
        ...(phase.observe > 0 && config.analysis ? [analysisPlanAction(config, phase.observe, i)!] : []),
      ];
      const worstCaseMs =
        d.canaryAvailable +
        (step.directSmoke ? d.smoke : 0) +
        d.weightVerified +
        (split.enabled ? split.deadline : 0) +
        d.smoke +
        phase.observe +
        (phase.observe > 0 ? analysisOverrunMs(config) : 0);
      steps.push({ step, label: stepLabel(step), actions, worstCaseMs });
    });
  }
  steps.push({
    step: { kind: "promote" },
    label: "promote",
    actions: [
      `update stable of ${services} to the new ` +
        `image${opts.skipCanary ? " (canary skipped)" : ", pinned to the digest the canary ran, while the canary serves 100%,"} and wait ` +
        `for its rollout (≤ ${formatDuration(d.stableRollout)})`,
      ...(opts.skipCanary ? [] : [`shift traffic back to stable (weight 0), verified (≤ ${formatDuration(d.weightVerified)})`]),
      `smoke-test the public URL (≤ ${formatDuration(d.smoke)})`,
      ...(opts.skipCanary ? [] : [`scale the canary to 0 (≤ ${formatDuration(d.scaleDown)})`]),
    ],
    worstCaseMs: d.stableRollout + (opts.skipCanary ? 0 : d.weightVerified + d.scaleDown) + d.smoke,
  });
  const rollbackWorstCaseMs = rollbackDeadlineMs(config, true);
  const worstCaseMs = PREFLIGHT_MS + steps.reduce((sum, s) => sum + s.worstCaseMs, 0) + rollbackWorstCaseMs;
  return {
    steps,
    preflightMs: PREFLIGHT_MS,
    worstCaseMs,
    budgetMs: config.budget,
    rollbackWorstCaseMs,
    rollbackBeforePromotionMs: rollbackDeadlineMs(config, false),
  };
}

/**
 * A rollback's deadline, from the config's own deadlines: weight 0 verified (weightVerified) and the canary
 * scaled down (scaleDown), plus stable's rollout back to its previous revision (stableRollout) once promotion
 * started. rollback.ts stops there and says where production may stand.
 */
export function rollbackDeadlineMs(config: Pick<ReleaseConfig, "deadlines">, promotionStarted: boolean): number {
  const d = config.deadlines;
  return d.weightVerified + d.scaleDown + (promotionStarted ? d.stableRollout : 0);
}

/** The terms of rollbackDeadlineMs, for messages. */
export function rollbackDeadlineTerms(promotionStarted: boolean): string {
  return `deadlines.weightVerified + deadlines.scaleDown${promotionStarted ? " + deadlines.stableRollout, as promotion had started" : ""}`;
}

/** Refuse a plan whose worst case exceeds the budget, naming the steps that cost most. */
export function assertWithinBudget(plan: ReleasePlan): void {
  if (plan.worstCaseMs <= plan.budgetMs) return;
  const costliest = [...plan.steps].sort((a, b) => b.worstCaseMs - a.worstCaseMs).slice(0, 3);
  throw new UsageError(
    `the plan's worst case is ${formatDuration(plan.worstCaseMs)} (a failure at the end of promotion and its rollback, ` +
      `${formatDuration(plan.rollbackWorstCaseMs)}, included), ` +
      `over the ${formatDuration(plan.budgetMs)} budget; ` +
      `costliest: ${costliest.map((s) => `${s.label} (${formatDuration(s.worstCaseMs)})`).join(", ")}. ` +
      `Shorten observation windows (phases[].observe) or deadlines, or raise budget: in release.yaml; nothing was changed in the cluster`,
  );
}

export function planToText(plan: ReleasePlan, header: string): string {
  const lines = [
    header,
    "",
    `1. preflight: validate the tag and release.yaml, check every object exists, take the release lock, record what production runs now (≤ ` +
      `${formatDuration(plan.preflightMs)})`,
  ];
  plan.steps.forEach((s, i) => {
    lines.push(`${i + 2}. ${s.label} (worst case ${formatDuration(s.worstCaseMs)})`);
    for (const a of s.actions) lines.push(`     - ${a}`);
  });
  lines.push(`${plan.steps.length + 2}. record: write the release record (history ConfigMap, Events), release the lock, print the summary`);
  lines.push(
    "",
    `On any failed smoke test or health check: weight 0 verified, canary scaled to 0 (worst case ${formatDuration(plan.rollbackBeforePromotionMs)}); ` +
      `after promotion started, stable's previous revision is restored and rolled out first (worst case ` +
      `${formatDuration(plan.rollbackWorstCaseMs)}). A rollback stops at its worst case and says where production stands.`,
  );
  lines.push(
    `Worst case: ${formatDuration(plan.worstCaseMs)} of a ${formatDuration(plan.budgetMs)} budget (every step at its deadline, then a ` +
      `failure at the end of promotion and its rollback)${plan.worstCaseMs > plan.budgetMs ? " — OVER BUDGET" : ""}.`,
  );
  return lines.join("\n") + "\n";
}
