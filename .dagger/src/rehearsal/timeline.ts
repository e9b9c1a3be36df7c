/**
 * The rehearsal's timeline, as Markdown (a terminal reads it, GitHub renders it as the job summary): the setup, each
 * release's phases with weight, observed split, smoke results and durations (from the CLI's own --json record), how
 * long the bad release took to be caught and to have traffic back on stable, where traffic was afterwards, and the
 * total. Pure: data in, text out.
 */
import { z } from "zod";
import { formatDuration } from "../config/duration.ts";
import { DEMO_FAILURE_DESCRIPTIONS, type DemoFailure } from "./demo-app.ts";
import type { EdgeSample } from "./edge.ts";

const smokeSchema = z.looseObject({
  url: z.string(),
  canary: z.boolean(),
  ok: z.boolean(),
  checks: z.array(z.looseObject({ name: z.string(), ok: z.boolean(), reason: z.string().optional() })).default([]),
});
const stepSchema = z.looseObject({
  name: z.string(),
  weight: z.number().optional(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  result: z.string(),
  detail: z.string().optional(),
  smoke: z.array(smokeSchema).default([]),
  observedSplit: z
    .array(z.looseObject({ service: z.string(), expected: z.number(), observed: z.number(), samples: z.number() }))
    .optional(),
});
/** The fields of the CLI's --json release record the timeline reads (others are ignored). */
const recordSchema = z.looseObject({
  tag: z.string(),
  outcome: z.string(),
  startedAt: z.string(),
  durationMs: z.number().optional(),
  rollbackReason: z.string().optional(),
  rollbackTimings: z.looseObject({ weightZeroMs: z.number().optional(), restoredMs: z.number().optional() }).optional(),
  finalState: z.string().optional(),
  steps: z.array(stepSchema).default([]),
});
export type RecordView = z.output<typeof recordSchema>;
export type StepView = RecordView["steps"][number];

/** The record in a `release-gate deploy --json` stdout, or undefined when there is none (a refusal, a crash). */
export function parseRecord(stdout: string): RecordView | undefined {
  try {
    const r = recordSchema.safeParse(JSON.parse(stdout));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export interface SetupStep {
  name: string;
  ms: number;
  detail?: string;
}

export interface ReleaseRun {
  tag: string;
  /** What the story needs from this release. */
  expected: "succeeded" | "rolled-back";
  exitCode: number;
  record?: RecordView;
  /** The CLI's last line on stderr (its verdict). */
  verdict?: string;
  ms: number;
}

export interface StoryResult {
  cluster: string;
  clusterReused: boolean;
  nodeImage?: string;
  router: string;
  routerVersion: string;
  failure: DemoFailure;
  /** Who the CLI released as (the ServiceAccount bound by production's RBAC, or kind's admin). */
  releasedAs: string;
  setup: SetupStep[];
  good?: ReleaseRun;
  bad?: ReleaseRun;
  afterRollback?: EdgeSample[];
  /** Why the story did not go as a rehearsal should (empty: it did); a refusal or error ends it early. */
  problems: string[];
  totalMs: number;
}

const ms = (iso?: string) => (iso ? Date.parse(iso) : Number.NaN);

export interface BadTimings {
  failedStep?: StepView;
  /** From the bad version's first canary step starting to the failure detected (the failed step's end). */
  detectMs?: number;
  /** From the failure detected to canary weight 0 verified. */
  backOnStableMs?: number;
  /** Whether user traffic reached the bad canary (a weight was set before it failed). */
  canaryHadTraffic: boolean;
}

export function badReleaseTimings(r: RecordView): BadTimings {
  const canarySteps = r.steps.filter((s) => (s.weight ?? 0) > 0 && s.name !== "rollback");
  const failedStep = r.steps.find((s) => s.result === "failed" && s.name !== "rollback");
  const rollback = r.steps.find((s) => s.name === "rollback");
  const first = canarySteps[0] ?? r.steps[0];
  const detectMs = failedStep ? ms(failedStep.finishedAt) - ms(first?.startedAt) : Number.NaN;
  const weightZero = r.rollbackTimings?.weightZeroMs;
  const backOnStableMs =
    failedStep && rollback && weightZero !== undefined ? ms(rollback.startedAt) - ms(failedStep.finishedAt) + weightZero : Number.NaN;
  const passedWithTraffic = r.steps.some((s) => s.result === "passed" && (s.weight ?? 0) > 0 && s.name !== "rollback");
  const failedAfterWeight = Boolean(failedStep && (failedStep.observedSplit?.length || failedStep.smoke.some((x) => !x.canary)));
  return {
    ...(failedStep ? { failedStep } : {}),
    ...(Number.isFinite(detectMs) ? { detectMs: Math.max(0, detectMs) } : {}),
    ...(Number.isFinite(backOnStableMs) ? { backOnStableMs: Math.max(0, backOnStableMs) } : {}),
    canaryHadTraffic: passedWithTraffic || failedAfterWeight,
  };
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function smokeCell(step: StepView): string {
  if (!step.smoke.length) return "—";
  const group = (canary: boolean) => {
    const runs = step.smoke.filter((s) => s.canary === canary);
    if (!runs.length) return undefined;
    const checks = runs.flatMap((s) => s.checks);
    const passed = checks.filter((c) => c.ok).length;
    return `${runs.every((s) => s.ok) ? "✓" : "✗"} ${canary ? "canary" : "public"} ${passed}/${checks.length}`;
  };
  return [group(true), group(false)].filter(Boolean).join(" · ");
}

function splitCell(step: StepView): string {
  if (!step.observedSplit?.length) return "—";
  return step.observedSplit.map((o) => `${o.service} ${o.observed.toFixed(1)} % of ${o.expected} % (${o.samples})`).join("<br>");
}

function releaseSection(n: number, title: string, run: ReleaseRun): string[] {
  const r = run.record;
  const icon =
    r?.outcome === "succeeded"
      ? "✅ promoted"
      : r?.outcome === "rolled-back"
        ? "↩️ rolled back by itself"
        : `🛑 ${r?.outcome ?? "no record"}`;
  const lines = [`### ${n}. ${title} \`${run.tag}\`: ${icon} (exit ${run.exitCode}, ${formatDuration(r?.durationMs ?? run.ms)})`, ""];
  if (!r) {
    lines.push(`No release record: ${cell(run.verdict ?? "the CLI printed none")}`, "");
    return lines;
  }
  lines.push("| step | weight | observed split (samples) | smoke | result | took |", "|---|---|---|---|---|---|");
  for (const s of r.steps) {
    lines.push(
      `| ${cell(s.name)} | ${s.weight !== undefined ? `${s.weight} %` : "—"} | ${splitCell(s)} | ${smokeCell(s)} | ` +
        `${s.result}${s.result === "failed" && s.detail ? `: ${cell(s.detail)}` : ""} | ` +
        `${s.durationMs !== undefined ? formatDuration(s.durationMs) : "—"} |`,
    );
  }
  const failedChecks = r.steps.flatMap((s) =>
    s.smoke.flatMap((x) =>
      x.checks
        .filter((c) => !c.ok)
        .map((c) => `${s.name} · ${x.canary ? "canary" : "public"} ${x.url} · ${c.name}: ${c.reason ?? "failed"}`),
    ),
  );
  if (failedChecks.length) lines.push("", "Failed smoke checks:", ...failedChecks.slice(0, 12).map((f) => `- ${cell(f)}`));
  if (r.finalState) lines.push("", `Production afterwards: ${cell(r.finalState)}`);
  lines.push("");
  return lines;
}

export function renderTimeline(s: StoryResult): string {
  const ok = s.problems.length === 0;
  const lines: string[] = [];
  lines.push(
    `## release-gate rehearsal on kind: ` +
      `${ok ? "✅ the good release was promoted and the bad one rolled back by itself" : "❌ the story did not go as a release should"}`,
    "",
    `- **Cluster:** kind \`${s.cluster}\` ` +
      `(${s.clusterReused ? "reused" : "created"}${s.nodeImage ? `, ${s.nodeImage.split("@")[0]}` : ""}) on this machine's loopback`,
    `- **Router:** ${s.router} (${s.routerVersion})`,
    `- **The bad version fails by:** ${s.failure}: ${DEMO_FAILURE_DESCRIPTIONS[s.failure]}`,
    `- **Released as:** ${s.releasedAs}`,
    "",
  );
  if (s.setup.length) {
    lines.push("### Setup", "", "| phase | took | detail |", "|---|---|---|");
    for (const st of s.setup) lines.push(`| ${cell(st.name)} | ${formatDuration(st.ms)} | ${cell(st.detail ?? "")} |`);
    lines.push("");
  }
  if (s.good) lines.push(...releaseSection(1, "Good release", s.good));
  if (s.bad) {
    lines.push(...releaseSection(2, "Bad release", s.bad));
    const t = s.bad.record ? badReleaseTimings(s.bad.record) : undefined;
    if (t?.failedStep) {
      lines.push(
        `- **Failure detected in:** ${cell(t.failedStep.name)}: ${cell(t.failedStep.detail ?? s.bad.record?.rollbackReason ?? "")}`,
      );
      lines.push(
        `- **Time to detect the failure:** ${t.detectMs !== undefined ? formatDuration(t.detectMs) : "unknown"} (from the bad canary's first step starting)`,
      );
      const back = t.backOnStableMs !== undefined ? formatDuration(t.backOnStableMs) : "unknown";
      lines.push(
        t.canaryHadTraffic
          ? `- **Time until traffic was back on stable:** ${back} (from detection to canary weight 0, verified)`
          : `- **Time until traffic was back on stable:** none left it: ` +
              `the bad canary failed before it got any traffic (weight 0 verified ${back} after detection)`,
      );
    }
  }
  if (s.afterRollback?.length) {
    const want = s.good?.tag;
    const parts = s.afterRollback.map((a) => {
      const right = want ? (a.byVersion[want] ?? 0) : 0;
      const others = Object.entries(a.byVersion)
        .filter(([v]) => v !== want)
        .map(([v, n]) => `${n} ${v}`);
      return `${a.host}: ${right}/${a.total} answered ${want ?? "?"}${others.length ? ` (${others.join(", ")})` : ""}`;
    });
    lines.push(`- **After the rollback, through the edge:** ${cell(parts.join("; "))}`);
  }
  if (s.bad || s.afterRollback) lines.push("");
  if (!ok) lines.push("### What went wrong", "", ...s.problems.map((p) => `- ${cell(p)}`), "");
  lines.push(`**Total: ${formatDuration(s.totalMs)}** (setup and both releases, in the toolbox)`, "");
  return lines.join("\n");
}
