/**
 * `deploy --resume`: continuing a release whose run died, from the step it was in. Only the checks and the
 * record live here; the phase machine (release.ts) then redoes the interrupted step from its start and runs
 * the rest of the plan as usual.
 *
 * What may be resumed: a release of the same tag, stopped in preflight, in a canary step or in promotion,
 * whose plan (release.yaml) still has that step. A canary step is redone whole (sizing, waiting, weight set and
 * verified, smoke tests, a fresh observation window); promotion is continued (stable's image set again, which
 * changes nothing when it is already there, its rollout waited for while the canary still serves 100 %, then
 * weight 0, smoke, canary to 0) because every action of it is safe to redo and a rollback from there restores
 * stable's recorded template as in a normal run. Nothing is trusted from the record alone: the live objects
 * must agree with it (verifyLiveState) or resume refuses and points at `rollback`.
 */
import type { ReleaseRecord, StepRecord } from "../audit/record.ts";
import { UsageError } from "../errors.ts";
import { containerImage, templateOf } from "../kube/deployments.ts";
import { describeRouter, expectedWeight } from "../traffic/index.ts";
import type { PipelineEnv, Release } from "./context.ts";
import type { ReleasePlan } from "./plan.ts";
import { canaryReplicas } from "./production.ts";
import type { InFlight, ServiceBefore } from "./state.ts";

/** What a resumed run's record says about the run it continued (stored with the record, shown as its "resume" step). */
export interface ResumeInfo {
  /** The step the earlier run was in, redone from its start. */
  fromStep: string;
  earlierRun: { recordId: string; holder: string; triggeredBy: string; startedAt: string; lastUpdate: string };
}

export type ResumedRecord = ReleaseRecord & { resumed?: ResumeInfo };

const REFUSED_TAIL = "Run `release-gate rollback` to return production to rest (then deploy again); nothing was changed";

/**
 * Where to resume the plan: the index of the step to redo (0 when the earlier run stopped in preflight). Read-only
 * refusals (UsageError, exit 2): nothing in flight, another tag, a step that cannot be resumed.
 */
export function resumePoint(state: InFlight | undefined, tag: string, plan: ReleasePlan): number {
  if (!state) {
    throw new UsageError(
      `nothing to resume: no interrupted release is recorded in ConfigMap release-gate-state (\`release-gate status\` shows what production runs). Start one with \`release-gate deploy --tag ${tag}\`; nothing was changed`,
    );
  }
  if (state.tag !== tag) {
    throw new UsageError(
      `refused: --resume continues the interrupted release of ${state.tag}, not ${tag}. Resume it with \`release-gate deploy --tag ${state.tag} --resume\`, or return production to rest with \`release-gate rollback\`; nothing was changed`,
    );
  }
  if (state.step === "preflight") return 0;
  if (state.step === "rollback") {
    throw new UsageError(
      `refused: the interrupted release of ${tag} was being rolled back when its run stopped; finish that with \`release-gate rollback\`; nothing was changed`,
    );
  }
  const index = plan.steps.findIndex((s) => s.label === state.step);
  if (index < 0) {
    const why = state.step.includes("held for the operator")
      ? "it is a canary held by the operator (`canary` command): continue it with `canary --weight`/`promote`"
      : `the plan from release.yaml has no step "${state.step}" (steps: ${plan.steps.map((s) => s.label).join(", ")}; was release.yaml changed?)`;
    throw new UsageError(`refused: cannot resume release ${tag} stopped at "${state.step}": ${why}. ${REFUSED_TAIL}`);
  }
  return index;
}

/** JSON with sorted keys: two templates are the same when these strings are. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** Stable's template as promotion makes it: the recorded one with the new image. */
function promotedTemplate(s: ServiceBefore): unknown {
  const t = structuredClone(s.previousTemplate);
  for (const c of t.spec?.containers ?? []) if (c.name === s.container) c.image = s.newImage;
  return t;
}

/** The canary weights the record allows right now: the step may have stopped before or after its weight change. */
function allowedWeights(state: InFlight, plan: ReleasePlan, index: number, skipCanary: boolean): number[] {
  if (skipCanary || state.step === "preflight") return [0];
  const step = plan.steps[index].step;
  if (step.kind === "canary") return [...new Set([state.passedWeight, step.weight])];
  return state.promotionStarted ? [100, 0] : [100];
}

/**
 * Compare the live objects with the record before anything is trusted: stable's template as recorded (or,
 * once promotion started, as promotion makes it), the canary on the new image and Available for the weight it
 * carries, every route at a weight the record allows. Returns what was checked; throws UsageError listing every
 * difference otherwise.
 */
export async function verifyLiveState(
  env: PipelineEnv,
  routers: Release["routers"],
  state: InFlight,
  plan: ReleasePlan,
  index: number,
  skipCanary: boolean,
): Promise<string[]> {
  const { kube, config } = env;
  const ns = config.namespace;
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
    routers.map(async (r) => {
      const live = await r.getWeight();
      const targets = await Promise.all(allowed.map((w) => expectedWeight(r, w)));
      const match = allowed.find((_w, i) => Math.abs(live - targets[i]) <= 0.5);
      if (match === undefined)
        differs.push(`${describeRouter(r)}: canary weight is ${Math.round(live * 10) / 10}, the record allows ${allowed.join(" or ")}`);
      return match ?? live;
    }),
  );
  const liveWeight = Math.max(0, ...weights);
  for (const s of state.services) {
    const [stable, canary] = await Promise.all([
      kube.apps.readNamespacedDeployment({ name: s.stableDeployment, namespace: ns }),
      kube.apps.readNamespacedDeployment({ name: s.canaryDeployment, namespace: ns }),
    ]);
    const live = canonical(templateOf(stable));
    const isPrevious = live === canonical(s.previousTemplate);
    const isPromoted = live === canonical(promotedTemplate(s));
    if (!(isPrevious || (state.promotionStarted && isPromoted))) {
      differs.push(
        `${s.stableDeployment}: pod template differs from the recorded one${state.promotionStarted ? " and from the promoted one" : ""} (image ${containerImage(stable, s.container)})`,
      );
    }
    if (state.promotionStarted && liveWeight === 0 && !skipCanary) {
      // Weight 0 during promotion is only set once stable has rolled out: traffic is on it now.
      const r = stable.spec?.replicas ?? 0;
      const st = stable.status ?? {};
      if (!isPromoted || (st.updatedReplicas ?? 0) < r || (st.availableReplicas ?? 0) < r) {
        differs.push(
          `${s.stableDeployment}: traffic is on stable (weight 0) but it is not fully rolled out on ${s.newImage} (${st.updatedReplicas ?? 0} updated, ${st.availableReplicas ?? 0} available of ${r})`,
        );
      }
    }
    const replicas = canary.spec?.replicas ?? 0;
    if (skipCanary || state.step === "preflight") {
      if (replicas > 0) differs.push(`${s.canaryDeployment} has ${replicas} replicas, the record expects 0`);
      continue;
    }
    if (containerImage(canary, s.container) !== s.newImage)
      differs.push(`${s.canaryDeployment} runs ${containerImage(canary, s.container)}, not ${s.newImage}`);
    if (liveWeight > 0) {
      const need = config.router.kind === "replicas" ? 1 : canaryReplicas(liveWeight, s.stableReplicas);
      const st = canary.status ?? {};
      // The pods carrying today's traffic must be Available (I1); more pods still starting are the redone step's to wait for.
      if (replicas < need) differs.push(`${s.canaryDeployment} has ${replicas} replicas, too few for weight ${liveWeight} (needs ${need})`);
      else if (Math.min(st.availableReplicas ?? 0, st.updatedReplicas ?? 0) < need) {
        differs.push(
          `${s.canaryDeployment} is not Available for weight ${liveWeight} (${st.availableReplicas ?? 0} available, ${st.updatedReplicas ?? 0} updated; needs ${need})`,
        );
      }
    }
  }
  if (differs.length) {
    throw new UsageError(
      `refused: cannot resume release ${state.tag}: production differs from what its run recorded at "${state.step}": ${differs.join("; ")}. ${REFUSED_TAIL}`,
    );
  }
  return [
    `weight ${[...new Set(weights)].join("/")} (allowed ${allowed.join(" or ")})`,
    `stable ${state.promotionStarted ? "on the recorded or the promoted template" : "on the recorded template"}`,
    skipCanary || state.step === "preflight" ? "canary at 0 replicas" : `canary on the new image${liveWeight > 0 ? " and Available" : ""}`,
  ];
}

/**
 * The resumed run's record: the earlier run's steps (the one it stopped in marked interrupted), then a
 * "resume" step naming the earlier run, the step redone and what was verified; `resumed` says the same as data.
 */
export function markResumed(record: ResumedRecord, earlier: InFlight, checked: string[]): void {
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
  record.resumed = { fromStep: earlier.step, earlierRun };
  if (earlier.record?.skipCanary) record.skipCanary = earlier.record.skipCanary;
  record.steps.push(...prior, {
    name: "resume",
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    result: "passed",
    detail: `resumed release ${earlier.id} of run ${earlier.holder} (started ${earlier.startedAt} by ${earlierRun.triggeredBy}) from "${earlier.step}", redone from its start; checked live: ${checked.join(", ")}`,
    smoke: [],
  });
}
