/**
 * `deploy`: the whole release, as a body of the lifecycle (run-plan.ts walks the plan); `--repair` rolls an
 * interrupted release back first, `--resume` (resume.ts) continues it.
 */
import type { ReleaseRecord } from "../audit/record.ts";
import { UsageError } from "../errors.ts";
import type { PipelineEnv } from "./context.ts";
import { withRelease } from "./lifecycle.ts";
import { resume } from "./resume.ts";
import { runPlan } from "./run-plan.ts";

export interface DeployRequest {
  tag: string;
  skipCanary?: boolean;
  reason?: string;
  /** Roll back an interrupted release first, then deploy. */
  repair?: boolean;
  /** Continue the interrupted release of the same tag from the step it stopped in (resume.ts). */
  resume?: boolean;
  /** Release a mutable tag (`latest`, release.yaml's mutableTags) on purpose. */
  allowMutableTag?: boolean;
  signal?: AbortSignal;
}

/** `deploy`: the whole release. Resolves with the record on success; throws ReleaseFailedError after a rollback. */
export async function deploy(env: PipelineEnv, req: DeployRequest): Promise<ReleaseRecord> {
  if (req.skipCanary && !req.reason?.trim()) {
    throw new UsageError("--skip-canary needs --reason (it is recorded with the release); nothing was changed in the cluster");
  }
  if (req.resume && req.repair) {
    throw new UsageError(
      "--resume and --repair exclude each other: --resume continues the interrupted release, --repair rolls it back and starts over; nothing was changed",
    );
  }
  if (req.resume && req.skipCanary) {
    throw new UsageError(
      "--resume follows the interrupted release's own plan (with or without canary, as recorded): drop --skip-canary; nothing was changed",
    );
  }
  if (req.resume) {
    return resume(env, {
      tag: req.tag,
      ...(req.allowMutableTag ? { allowMutableTag: true } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
  }
  const skipCanary = req.skipCanary ?? false;
  return withRelease(
    env,
    {
      command: "deploy",
      tag: req.tag,
      inFlight: req.repair ? "repair" : "refuse",
      planFrom: 0,
      ...(req.repair ? { takeOver: "stale" as const } : {}),
      ...(skipCanary ? { skipCanary: { reason: req.reason!.trim() } } : {}),
      ...(req.allowMutableTag ? { allowMutableTag: true } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    },
    (run) => runPlan(run, { skipCanary, startIndex: 0 }),
  );
}
