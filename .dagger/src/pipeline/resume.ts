/**
 * `deploy --resume`: continuing a release whose run died, from the step it was in, as a body of the lifecycle.
 *
 * What may be resumed: a release of the same tag, stopped in a canary step or in promotion, whose plan
 * (release.yaml) still has that step. A canary step is redone whole (sizing, waiting, weight set and verified,
 * smoke tests, a fresh observation window); promotion is continued (stable's image set again, which changes
 * nothing when it is already there, its rollout waited for while the canary still serves 100 %, then weight 0,
 * smoke, canary to 0) because every action of it is safe to redo and a rollback from there restores stable's
 * recorded revision as in a normal run. Nothing is trusted from the record alone: the live objects must agree with
 * it (verifyLiveState) or resume refuses and points at `rollback`.
 */
import type { ReleaseRecord, StepRecord } from "../audit/record.ts";
import { UsageError } from "../errors.ts";
import { containerImage } from "../kube/deployments.ts";
import type { PipelineEnv, Run } from "./context.ts";
import { runPlan } from "./run-plan.ts";
import { inspectInFlight, type InFlightState, stepLabelOf } from "./journal.ts";
import { withRelease } from "./lifecycle.ts";
import { planRelease, type ReleasePlan } from "./plan.ts";
import { promotedImage, stableState } from "./stable-guard.ts";

/** What a resumed run's record says about the run it continued (stored with the record, shown as its "resume" step). */
export interface ResumeInfo {
  /** The step the earlier run was in, redone from its start. */
  fromStep: string;
  earlierRun: { recordId: string; holder: string; triggeredBy: string; startedAt: string; lastUpdate: string };
}

export type ResumedRecord = ReleaseRecord & { resumed?: ResumeInfo };

const REFUSED_TAIL = "Run `release-gate rollback` to return production to rest (then deploy again); nothing was changed";

export async function resume(
  env: PipelineEnv,
  req: { tag: string; allowMutableTag?: boolean; signal?: AbortSignal },
): Promise<ReleaseRecord> {
  // Read before the lock, so what cannot be resumed is refused without a write; checked again under the lock.
  const stored = await inspectInFlight(env.kube, env.config.namespace);
  const earlier = stored.kind === "ok" ? stored.state : undefined;
  const skipCanary = Boolean(earlier?.record?.skipCanary);
  const plan = planRelease(env.config, { skipCanary });
  const startIndex = resumePoint(earlier, req.tag, plan);
  return withRelease(
    env,
    {
      command: "deploy",
      tag: req.tag,
      inFlight: "adopt",
      takeOver: "stale",
      planFrom: startIndex,
      ...(earlier?.record.skipCanary ? { skipCanary: earlier.record.skipCanary } : {}),
      ...(req.allowMutableTag ? { allowMutableTag: true } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    },
    async (run) => {
      const state = run.interrupted;
      if (!state || state.id !== earlier!.id) {
        throw new UsageError(
          `refused: the interrupted release changed while --resume was starting ` +
            `(${state ? `now ${stepLabelOf(state.step)} of ${state.tag}` : "it was repaired meanwhile"}); run \`release-gate status\`; nothing was changed`,
        );
      }
      const checked = await verifyLiveState(run, state, plan, startIndex, skipCanary);
      markResumed(run.record as ResumedRecord, state, checked);
      run.env.progress.info(
        `resuming release ${state.tag} of ${state.holder} at "${plan.steps[startIndex]!.label}" (redone from its start); checked live: ${checked.join(", ")}`,
      );
      return runPlan(run, { skipCanary, startIndex });
    },
  );
}

/**
 * Where to resume the plan: the index of the step to redo (0 when the earlier run had not started a step). Read-only
 * refusals (UsageError, exit 2): nothing in flight, another tag, a step that cannot be resumed.
 */
export function resumePoint(state: InFlightState | undefined, tag: string, plan: ReleasePlan): number {
  if (!state) {
    throw new UsageError(
      `nothing to resume: no interrupted release is recorded in ConfigMap release-gate-state (\`release-gate status\` shows what production ` +
        `runs). Start one with \`release-gate deploy --tag ${tag}\`; nothing was changed`,
    );
  }
  if (state.tag !== tag) {
    throw new UsageError(
      `refused: --resume continues the interrupted release of ${state.tag}, not ${tag}. Resume it with \`release-gate deploy --tag ` +
        `${state.tag} --resume\`, or return production to rest with \`release-gate rollback\`; nothing was changed`,
    );
  }
  const step = state.step;
  if (step.kind === "start") return 0;
  if (step.kind === "rollback") {
    throw new UsageError(
      `refused: the interrupted release of ${tag} was being rolled back when its run stopped; finish that with \`release-gate rollback\`; nothing was changed`,
    );
  }
  if (step.kind === "canary" && step.held) {
    throw new UsageError(
      `refused: cannot resume release ${tag} stopped at "${stepLabelOf(step)}": it is a canary held by the operator (\`canary\` command): ` +
        `continue it with \`canary --weight\`/\`promote\`. ${REFUSED_TAIL}`,
    );
  }
  const index = plan.steps.findIndex((s) =>
    step.kind === "canary" ? s.step.kind === "canary" && s.step.weight === step.weight : s.step.kind === step.kind,
  );
  if (index < 0) {
    throw new UsageError(
      `refused: cannot resume release ${tag} stopped at "${stepLabelOf(step)}": the plan from release.yaml has no such step (steps: ` +
        `${plan.steps.map((s) => s.label).join(", ")}; was release.yaml changed?). ${REFUSED_TAIL}`,
    );
  }
  return index;
}

/** The canary weights the record allows right now: the step may have stopped before or after its weight change. */
function allowedWeights(state: InFlightState, plan: ReleasePlan, index: number, skipCanary: boolean): number[] {
  if (skipCanary || state.step.kind === "start") return [0];
  const step = plan.steps[index]!.step;
  if (step.kind === "canary") return [...new Set([state.passedWeight, step.weight])];
  return state.promotionStarted ? [100, 0] : [100];
}

/**
 * Compare the live objects with the record before anything is trusted: stable on its recorded revision (or, once
 * promotion started, on that revision's template with the promoted image), the canary on the new image and
 * Available for the weight it carries, every route at a weight the record allows. Returns what was checked;
 * throws UsageError listing every difference otherwise.
 */
export async function verifyLiveState(
  run: Run,
  state: InFlightState,
  plan: ReleasePlan,
  index: number,
  skipCanary: boolean,
): Promise<string[]> {
  const { config } = run.env;
  const differs: string[] = [];
  const names = (list: Array<{ name: string }>) =>
    list
      .map((s) => s.name)
      .sort()
      .join(",");
  if (names(config.services) !== names(state.services)) {
    differs.push(`release.yaml names services ${names(config.services)}, the record ${names(state.services)}`);
  }
  const allowed = allowedWeights(state, plan, index, skipCanary);
  const weights = await Promise.all(
    run.routing.routers.map(async (r) => {
      const live = await r.getWeight();
      const replicas = state.services.find((s) => s.name === r.services[0])?.stable.replicas ?? 1;
      const match = allowed.find((w) => Math.abs(live - r.expectedWeight(w, replicas)) <= 0.5);
      if (match === undefined)
        differs.push(`${r.name}: canary weight is ${Math.round(live * 10) / 10}, the record allows ${allowed.join(" or ")}`);
      return match ?? live;
    }),
  );
  const liveWeight = Math.max(0, ...weights);
  for (const s of state.services) {
    const stable = run.cluster.deployment(s.stable.deployment);
    const canary = run.cluster.deployment(s.canary.deployment);
    if (!stable || !canary) {
      differs.push(`${!stable ? s.stable.deployment : s.canary.deployment} does not exist`);
      continue;
    }
    const is = stableState(run.cluster, s);
    const isPromoted = state.promotionStarted && is.kind === "promoted";
    if (!(is.kind === "previous" || isPromoted)) {
      differs.push(
        `${s.stable.deployment}: pod template differs from its recorded revision ` +
          `${s.stable.revision}${state.promotionStarted ? " and from the promoted one" : ""} (image ${containerImage(stable, s.container)}` +
          `${is.kind === "changed" ? `; ${is.changed}` : ""})`,
      );
    }
    if (state.promotionStarted && liveWeight === 0 && !skipCanary) {
      // Weight 0 during promotion is only set once stable has rolled out: traffic is on it now.
      const r = stable.spec?.replicas ?? 0;
      const st = stable.status ?? {};
      if (!isPromoted || (st.updatedReplicas ?? 0) < r || (st.availableReplicas ?? 0) < r) {
        differs.push(
          `${s.stable.deployment}: traffic is on stable (weight 0) but it is not fully rolled out on ${promotedImage(s)} ` +
            `(${st.updatedReplicas ?? 0} updated, ${st.availableReplicas ?? 0} available of ${r})`,
        );
      }
    }
    const replicas = canary.spec?.replicas ?? 0;
    if (skipCanary) {
      if (replicas > 0) differs.push(`${s.canary.deployment} has ${replicas} replicas, the record expects 0`);
      continue;
    }
    // Before the first weight, the redone step sets the canary's image and size itself.
    if (state.passedWeight === 0 && liveWeight === 0) continue;
    if (containerImage(canary, s.container) !== s.canary.image)
      differs.push(`${s.canary.deployment} runs ${containerImage(canary, s.container)}, not ${s.canary.image}`);
    if (liveWeight > 0) {
      const need = run.routing.for(s.name).canaryReplicas(liveWeight, s.stable.replicas);
      const st = canary.status ?? {};
      // The pods carrying today's traffic must be Available (I1); more pods still starting are the redone step's to wait for.
      if (replicas < need)
        differs.push(`${s.canary.deployment} has ${replicas} replicas, too few for weight ${liveWeight} (needs ${need})`);
      else if (Math.min(st.availableReplicas ?? 0, st.updatedReplicas ?? 0) < need) {
        differs.push(
          `${s.canary.deployment} is not Available for weight ${liveWeight} (${st.availableReplicas ?? 0} available, ` +
            `${st.updatedReplicas ?? 0} updated; needs ${need})`,
        );
      }
    }
  }
  if (differs.length) {
    throw new UsageError(
      `refused: cannot resume release ${state.tag}: production differs from what its run recorded at "${stepLabelOf(state.step)}": ` +
        `${differs.join("; ")}. ${REFUSED_TAIL}`,
    );
  }
  return [
    `weight ${[...new Set(weights)].join("/")} (allowed ${allowed.join(" or ")})`,
    `stable ${state.promotionStarted ? "on its recorded revision or the promoted one" : "on its recorded revision"}`,
    skipCanary ? "canary at 0 replicas" : `canary on the new image${liveWeight > 0 ? " and Available" : ""}`,
  ];
}

/**
 * The resumed run's record: the earlier run's steps (the one it stopped in marked interrupted), then a
 * "resume" step naming the earlier run, the step redone and what was verified; `resumed` says the same as data.
 */
export function markResumed(record: ResumedRecord, earlier: InFlightState, checked: string[]): void {
  const prior = (earlier.record?.steps ?? []).map((st): StepRecord =>
    st.finishedAt
      ? st
      : {
          ...st,
          result: "interrupted",
          finishedAt: earlier.updatedAt,
          detail: `its run stopped here (last update ${earlier.updatedAt}); redone from its start by the resumed run`,
        },
  );
  const now = new Date().toISOString();
  const earlierRun = {
    recordId: earlier.id,
    holder: earlier.holder,
    triggeredBy: earlier.record?.triggeredBy ?? "unknown",
    startedAt: earlier.startedAt,
    lastUpdate: earlier.updatedAt,
  };
  record.resumed = { fromStep: stepLabelOf(earlier.step), earlierRun };
  if (earlier.record?.skipCanary) record.skipCanary = earlier.record.skipCanary;
  record.steps.push(...prior, {
    name: "resume",
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    result: "passed",
    detail:
      `resumed release ${earlier.id} of run ${earlier.holder} (started ${earlier.startedAt} by ${earlierRun.triggeredBy}) from ` +
      `"${stepLabelOf(earlier.step)}", redone from its start; checked live: ${checked.join(", ")}`,
    smoke: [],
  });
}
