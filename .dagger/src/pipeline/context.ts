/** What every step of the phase machine works with. */
import type { ReleaseConfig } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import type { Suite } from "../smoke/index.ts";
import type { TrafficRouter } from "../traffic/router.ts";
import type { Progress } from "./progress.ts";
import type { Resolver } from "../smoke/public-url.ts";
import type { InFlight } from "./state.ts";
import type { ApprovalRecord, StepRecord } from "../audit/record.ts";

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

export interface Release {
  env: PipelineEnv;
  routers: TrafficRouter[];
  state: InFlight;
  suites: Map<string, Suite | undefined>;
  /** Aborted on SIGTERM, a lost lock, or the caller giving up. */
  signal: AbortSignal;
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
