/**
 * Single steps for operators, each a body of the lifecycle with deploy's safety: `canary --weight W` (the release
 * then stays in flight, held), `promote` (only after the canary passed at 100 %, I3), and `rollback` from any
 * state back to invariant I4's resting state.
 */
import type { ReleaseRecord } from "../audit/record.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import type { PipelineEnv } from "./context.ts";
import { prepareCanary, tidyUp } from "./run-plan.ts";
import { describeInFlight } from "./journal.ts";
import { type ReleaseRequest, rollbackBody, withRelease } from "./lifecycle.ts";
import { runCanaryStep, runPromoteStep, runStep, startPromotion } from "./steps.ts";

export interface CanaryRequest {
  tag: string;
  weight: number;
  /** Release a mutable tag (`latest`, release.yaml's mutableTags) on purpose. */
  allowMutableTag?: boolean;
  signal?: AbortSignal;
}

/**
 * The observation window of `canary --weight W`: that of the first phase of release.yaml at or above W (the phase the
 * operator's step stands in for; the last phase reaches 100, so there always is one).
 */
export function observeMsFor(config: ReleaseConfig, weight: number): number {
  return (config.phases.find((p) => p.weight >= weight) ?? config.phases.at(-1))?.observe ?? 0;
}

export async function canary(env: PipelineEnv, req: CanaryRequest): Promise<ReleaseRecord> {
  if (!Number.isInteger(req.weight) || req.weight < 1 || req.weight > 100)
    throw new UsageError(`--weight must be an integer from 1 to 100, got ${req.weight}; nothing was changed`);
  const { weight, tag } = req;
  // planFrom: the phase it stands in for, so metric analysis's queries are checked before its window.
  const planFrom = Math.max(
    0,
    env.config.phases.findIndex((p) => p.weight >= weight),
  );
  const request: ReleaseRequest = {
    command: "canary",
    tag,
    inFlight: "adopt",
    planFrom,
    ...(req.allowMutableTag ? { allowMutableTag: true } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  };
  return withRelease(env, request, async (run) => {
    const first = !run.interrupted;
    const untested = run.journal.state!.passedWeight === 0;
    await runStep(
      run,
      `canary ${weight}%`,
      weight,
      () => run.journal.enter({ kind: "canary", weight }),
      async (rec) => {
        if (first) await prepareCanary(run);
        // Deploy's safety: the first weight gets the direct canary smoke test, and every weight an observation
        // window (health watch, smoke probes, metric analysis) as long as the phase it stands in for.
        await runCanaryStep(run, { kind: "canary", weight, observeMs: observeMsFor(env.config, weight), directSmoke: untested }, rec);
      },
    );
    await run.journal.enter({ kind: "canary", weight, held: true });
    run.record.finalState = `canary of ${tag} at weight ${weight}, release in flight: next \`promote --tag ${tag}\` (after weight 100) or \`rollback\``;
    return "held";
  });
}

export async function promote(
  env: PipelineEnv,
  req: { tag: string; allowMutableTag?: boolean; signal?: AbortSignal },
): Promise<ReleaseRecord> {
  return withRelease(
    env,
    {
      command: "promote",
      tag: req.tag,
      inFlight: "adopt",
      ...(req.allowMutableTag ? { allowMutableTag: true } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    },
    async (run) => {
      const state = run.interrupted;
      // I3: stable changes only after the canary passed at 100 %.
      if (!state || state.passedWeight < 100) {
        throw new UsageError(
          `refused: promote needs the canary of ${req.tag} to have passed at weight 100 ` +
            `(${state ? describeInFlight(state) : "no release is in flight"}); run \`canary --tag ${req.tag} --weight 100\` first; nothing was changed`,
        );
      }
      await runStep(
        run,
        "promote",
        100,
        () => startPromotion(run),
        (rec) => runPromoteStep(run, rec, { skipCanary: false }),
      );
      await tidyUp(run);
      return "released";
    },
  );
}

/**
 * Back to the resting state from anything: an interrupted release (state in the cluster), a held canary, or
 * nothing recorded at all (then weight 0 and canary 0 are enforced anyway). Takes the lock over from a run that
 * stopped renewing it (dead); a live run is refused unless `force` (that run then stops without touching
 * production, at its next renewal: the lifecycle waits for it).
 */
export async function rollback(env: PipelineEnv, req: { reason?: string; force?: boolean }): Promise<ReleaseRecord> {
  return withRelease(env, { command: "rollback", inFlight: "any", takeOver: req.force ? "force" : "stale" }, (run) =>
    rollbackBody(run, req.reason?.trim() || "operator rollback"),
  );
}
