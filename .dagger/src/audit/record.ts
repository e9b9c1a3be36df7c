/**
 * The release record: who, what, when, each phase with timings and smoke results, the rollback reason, and
 * where production ended. One shape for the history ConfigMap, the Events, the Markdown summary and --json.
 */
import type { AnalysisEvaluation } from "../analysis/record.ts";

export type ReleaseOutcome = "succeeded" | "rolled-back" | "rollback-failed" | "no-change";

export interface SmokeSummary {
  url: string;
  canary: boolean;
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; status?: number; latencyMs: number; reason?: string }>;
}

export interface StepRecord {
  /** "canary 10%", "promote", "rollback"… */
  name: string;
  weight?: number;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  result: "passed" | "failed" | "skipped" | "interrupted";
  detail?: string;
  smoke: SmokeSummary[];
  /** The canary share measured through the public URL, per service, when sampled. */
  observedSplit?: Array<{ service: string; expected: number; observed: number; samples: number }>;
  /** Metric analysis: each evaluation of the observation window, with every check's values per service. */
  analysis?: AnalysisEvaluation[];
  /** A failure found during the observation window: which signal, when it was first seen and when it failed the step. */
  detection?: Detection;
}

/**
 * When a failing signal was first seen (a pod not Ready, a failing probe's answer) and when it failed the step (a
 * not-Ready pod's grace ran out): with the time the failure began, the detection latency.
 */
export interface Detection {
  signal: "canary health" | "smoke probe" | "metric analysis";
  /** The health reason (CrashLoopBackOff, NotReady, …) or the failed checks. */
  reason: string;
  firstSeenAt: string;
  detectedAt: string;
}

export interface ServiceOutcome {
  name: string;
  previousImage: string;
  /** The image released, as given (by tag). */
  newImage: string;
  /** The digest the canary's pods ran (their imageID), which stable was promoted to: `repository@digest`. */
  digest?: string;
  /** What stable runs at the end. */
  finalImage?: string;
  finalStableReplicas?: number;
  finalCanaryReplicas?: number;
}

/**
 * Who approved a release. `github`: read from the workflow run's approvals and checked against the two-person
 * rule before preflight (release-gate approvals). `self-reported`: named by whoever ran it (RELEASE_GATE_APPROVERS
 * outside GitHub Actions), not verified by anyone.
 */
export interface ApprovalRecord {
  source: "github" | "self-reported";
  /** The approvers counted, with the environment each approved (GitHub), or as named (self-reported). */
  approvers: Array<{ login: string; environment?: string }>;
  /** The run's actor and the user who started this attempt (a re-run may be started by someone else). */
  actor?: string;
  triggeringActor?: string;
  runUrl?: string;
  runAttempt?: number;
  /** When the approvals were checked (GitHub's approvals API has no review timestamps). */
  checkedAt?: string;
}

export interface ReleaseRecord {
  id: string;
  command: "deploy" | "canary" | "promote" | "rollback";
  namespace: string;
  tag: string;
  triggeredBy: string;
  /** The AWS principal the release ran as (EKS: sts:GetCallerIdentity's ARN), when known. */
  deployedAs?: string;
  /** Who approved the release: checked against GitHub, or self-reported for a local run. */
  approval?: ApprovalRecord;
  ciRun?: string;
  skipCanary?: { reason: string };
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  outcome: ReleaseOutcome;
  rollbackReason?: string;
  /** How fast the rollback was: from its start to weight 0 verified, and to the resting state. */
  rollbackTimings?: { weightZeroMs?: number; restoredMs?: number };
  services: ServiceOutcome[];
  steps: StepRecord[];
  /** Live canary weight at the end (per router), verified. */
  finalWeights?: number[];
  /** One line on where production stands now. */
  finalState?: string;
  /**
   * Set when the history ConfigMap (which holds at most 1 MiB) could not keep this record next to every older one:
   * how many older records it dropped for size, and whether the stored copy left out the record's per-check detail.
   */
  historyTrimmed?: { olderDropped: number; detailLeftOut?: true };
}
