/**
 * Walking a release's plan (plan.ts: phases as data from release.yaml, then promotion), for deploy and
 * deploy --resume: each step written to the journal before its first change, the canary prepared in the first
 * one, the canary header routing removed at the end.
 */
import { formatDuration } from "../config/duration.ts";
import { repositoryOf, versionOf } from "../config/image-ref.ts";
import { describeApiError } from "../kube/api-errors.ts";
import { type Run, servicesOf } from "./context.ts";
import type { ServiceInFlight } from "./journal.ts";
import type { Outcome } from "./lifecycle.ts";
import { planRelease } from "./plan.ts";
import { runCanaryStep, runPromoteStep, runStep, setImage, startPromotion } from "./steps.ts";

/** Stable already runs this version of the service (by the same reference, or pinned to it by an earlier release). */
function alreadyReleased(s: ServiceInFlight): boolean {
  return (
    s.stable.image === s.canary.image ||
    (repositoryOf(s.stable.image) === repositoryOf(s.canary.image) && s.stable.version === versionOf(s.canary.image))
  );
}

/** Run the plan's steps from `startIndex` (0: the whole plan, the canary's preparation included), then tidy up. */
export async function runPlan(run: Run, opts: { skipCanary: boolean; startIndex: number }): Promise<Outcome> {
  const { config, progress } = run.env;
  const services = servicesOf(run);
  if (opts.startIndex === 0 && services.every(alreadyReleased)) {
    progress.info(`stable already runs ${run.record.tag} for every service: nothing to release`);
    return "no-change";
  }
  const plan = planRelease(config, { skipCanary: opts.skipCanary });
  progress.info(
    `plan: ${plan.steps.map((s) => s.label).join(" → ")}; worst case ${formatDuration(plan.worstCaseMs)} of a ${formatDuration(plan.budgetMs)} budget`,
  );
  for (const [i, planned] of plan.steps.entries()) {
    if (i < opts.startIndex) continue;
    const step = planned.step;
    if (step.kind === "canary") {
      await runStep(
        run,
        planned.label,
        step.weight,
        () => run.journal.enter({ kind: "canary", weight: step.weight }),
        async (rec) => {
          if (i === 0) await prepareCanary(run);
          await runCanaryStep(run, step, rec);
        },
      );
    } else {
      await runStep(
        run,
        planned.label,
        undefined,
        () => startPromotion(run),
        (rec) => runPromoteStep(run, rec, { skipCanary: opts.skipCanary }),
      );
    }
  }
  await tidyUp(run);
  return "released";
}

/** The routers' canary routing at weight 0, and the canary on the new image while at 0 replicas: no pod, no traffic yet. */
export async function prepareCanary(run: Run): Promise<void> {
  for (const r of run.routing.routers) await r.prepare();
  await Promise.all(servicesOf(run).map((s) => setImage(run, s.canary.deployment, s.container, s.canary.image)));
}

/** Released. What follows only tidies up: a failure here is reported, never a reason to undo the release. */
export async function tidyUp(run: Run): Promise<void> {
  await Promise.all(run.routing.routers.map((r) => r.reset())).catch((err: unknown) =>
    run.env.progress.warn(`could not remove the canary header routing: ${describeApiError(err)}; the release itself is complete`),
  );
  run.env.progress.step("done", 0);
}
