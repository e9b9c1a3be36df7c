/** What every part of the phase machine works with: the environment of a run, and the run itself. */
import type { ApprovalRecord, ReleaseRecord, StepRecord } from "../audit/record.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import type { ClusterWatch } from "../health/cluster-watch.ts";
import type { HealthLimits } from "../health/pod-health.ts";
import type { Kube } from "../kube/client.ts";
import type { Resolver } from "../smoke/public-url.ts";
import type { Suite } from "../smoke/suite.ts";
import type { Routing } from "../traffic/routing.ts";
import type { InFlightState, Journal, ServiceInFlight } from "./journal.ts";
import type { Progress } from "./progress.ts";

export interface PipelineEnv {
  kube: Kube;
  config: ReleaseConfig;
  progress: Progress;
  /** Lock holder identity for this run. */
  identity: string;
  triggeredBy: string;
  /** The AWS principal ARN the run acts as (EKS), recorded as "deployed as". */
  deployedAs?: string;
  approval?: ApprovalRecord;
  ciRun?: string;
  smokeToken?: string;
  resolve: Resolver;
}

/** What each service's smoke tests run: its suite, and the checks skipped (those that need a token, when none is given). */
export type SmokePlan = Map<string, { suite: Suite; skip: string[] }>;

/** How a rollback went (rollback.ts). */
export interface RollbackResult {
  ok: boolean;
  /** From the start of the rollback to weight 0 verified. */
  weightZeroMs?: number;
  /** From the start of the rollback to the resting state. */
  restoredMs?: number;
  detail: string;
}

/** Where production stands at the end of a run, as checked on the live objects (end-state.ts). */
export interface EndState {
  /** Every stable has an Available pod, and every route reaches its stable Service. */
  healthy: boolean;
  /** One sentence: "all traffic on stable running …", or "production is NOT healthy: …". */
  summary: string;
  weights: Array<{ router: string; weight: number | null; error?: string }>;
}

/** A command at work, inside the lifecycle (lifecycle.ts): what its body is given. */
export interface Run {
  env: PipelineEnv;
  /** The in-flight state (journal.state) and its one writer. */
  journal: Journal;
  routing: Routing;
  /** The namespace's Deployments, ReplicaSets and Pods, watched from when the lock was taken. */
  cluster: ClusterWatch;
  smoke: SmokePlan;
  /** The record this run writes. */
  record: ReleaseRecord;
  /** Aborted on SIGTERM, a lost lock, or the caller giving up. */
  signal: AbortSignal;
  /** The interrupted release this run carries on (taken over from the run that wrote it), if any. */
  interrupted?: InFlightState;
  /** The in-flight state found could not be used (unreadable, or not matching release.yaml): why. */
  unreadable?: string;
  /** Set once the run has rolled back (it does so at most once). */
  rolledBack?: RollbackResult;
  /** How release.yaml differs from what the interrupted release recorded (the run acts on the recorded objects). */
  drift?: string[];
  /** Where production stands at the end, once checked (the record's final state says it). */
  end?: EndState;
}

/** The services of the run's release, as its journal has them. */
export function servicesOf(run: Run): ServiceInFlight[] {
  return run.journal.state?.services ?? [];
}

/** The health limits release.yaml sets (health.*; a pod must become Ready within deadlines.canaryAvailable). */
export function healthLimits(config: ReleaseConfig): HealthLimits {
  const { maxRestarts, notReadyGrace } = config.health;
  return {
    maxRestarts,
    notReadyGraceMs: notReadyGrace,
    unavailableGraceMs: notReadyGrace,
    readyDeadlineMs: config.deadlines.canaryAvailable,
  };
}

/** A check failed: the phase machine rolls back with this reason. */
export class StepFailure extends Error {
  readonly step: string;
  constructor(step: string, reason: string) {
    super(reason);
    this.name = "StepFailure";
    this.step = step;
  }
}

export function newStepRecord(name: string, weight?: number): StepRecord {
  return { name, ...(weight !== undefined ? { weight } : {}), startedAt: new Date().toISOString(), result: "passed", smoke: [] };
}

export function finishStep(rec: StepRecord, result: StepRecord["result"], detail?: string): void {
  rec.result = result;
  rec.finishedAt = new Date().toISOString();
  rec.durationMs = Date.parse(rec.finishedAt) - Date.parse(rec.startedAt);
  if (detail) rec.detail = detail;
}
