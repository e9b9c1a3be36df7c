/**
 * The two kinds of step the phase machine runs, each a straight list of actions taken from the plan's data:
 * a canary step (capacity first, then traffic, then checks and observation) and promotion.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AnalysisFailure, observeMetrics } from "../analysis/index.ts";
import type { StepRecord } from "../audit/record.ts";
import { formatDuration } from "../config/duration.ts";
import { waitAvailable, watchCanaryHealth } from "../health/index.ts";
import { scaleDeployment, setContainerImage } from "../kube/deployments.ts";
import { waitRolledOut } from "../kube/rollout.ts";
import { type Release, StepFailure } from "./context.ts";
import { stepLabel, type Step } from "./plan.ts";
import { canaryReplicas } from "./production.ts";
import { checkObservedSplit, setWeightVerified } from "./shift-traffic.ts";
import { smokeServices } from "./smoke-services.ts";
import { writeInFlight } from "./state.ts";

type CanaryStep = Extract<Step, { kind: "canary" }>;

function healthLimits(rel: Release) {
  const { maxRestarts, notReadyGrace } = rel.env.config.health;
  return { maxRestarts, notReadyGraceMs: notReadyGrace, unavailableGraceMs: notReadyGrace };
}

async function waitCanariesAvailable(
  rel: Release,
  replicasOf: (s: Release["state"]["services"][number]) => Promise<number> | number,
): Promise<void> {
  const { kube, config, progress } = rel.env;
  await Promise.all(
    rel.state.services.map(async (s) => {
      const replicas = await replicasOf(s);
      progress.waiting(`${s.canaryDeployment}: ${replicas} pods Available`);
      await waitAvailable({
        kube,
        namespace: config.namespace,
        deployment: s.canaryDeployment,
        replicas,
        timeoutMs: config.deadlines.canaryAvailable,
        signal: rel.signal,
        limits: healthLimits(rel),
      });
    }),
  );
}

export async function runCanaryStep(rel: Release, step: CanaryStep, rec: StepRecord): Promise<void> {
  const { kube, config, progress } = rel.env;
  const ns = config.namespace;
  const label = stepLabel(step);
  if (config.router.kind === "replicas") {
    // No router: Ready pods get traffic, so the weight IS the canary's size; wait for it to be Available.
    await Promise.all(rel.routers.map((r) => r.setWeight(step.weight)));
    await waitCanariesAvailable(
      rel,
      async (s) => (await kube.apps.readNamespacedDeployment({ name: s.canaryDeployment, namespace: ns })).spec?.replicas ?? 0,
    );
    await setWeightVerified(rel, step.weight, rel.signal);
  } else {
    // I1: capacity up before traffic moves to it, traffic away before capacity goes down. An operator's
    // `canary --weight` may lower the weight (50 → 10): then the weight is set and verified first, and only
    // then is the canary scaled down to its smaller size.
    const target = (s: Release["state"]["services"][number]) => canaryReplicas(step.weight, s.stableReplicas);
    const live = await Promise.all(
      rel.state.services.map(
        async (s) => (await kube.apps.readNamespacedDeployment({ name: s.canaryDeployment, namespace: ns })).spec?.replicas ?? 0,
      ),
    );
    const liveOf = new Map(rel.state.services.map((s, i) => [s.canaryDeployment, live[i]]));
    const growing = rel.state.services.filter((s) => target(s) > liveOf.get(s.canaryDeployment)!);
    const shrinking = rel.state.services.filter((s) => target(s) < liveOf.get(s.canaryDeployment)!);
    await Promise.all(growing.map((s) => scaleDeployment(kube, ns, s.canaryDeployment, target(s))));
    await waitCanariesAvailable(rel, (s) => Math.max(target(s), liveOf.get(s.canaryDeployment)!));
    if (step.directSmoke) {
      progress.waiting("smoke tests straight to the canary (no user traffic yet)");
      await smokeServices(rel, { canary: true, stepName: label, record: rec });
    }
    progress.waiting(`weight ${step.weight} to take effect`);
    await setWeightVerified(rel, step.weight, rel.signal);
    if (shrinking.length) {
      progress.waiting(
        `${shrinking.map((s) => s.canaryDeployment).join(", ")}: scaled down to the size of weight ${step.weight}, now that the weight is verified`,
      );
      await Promise.all(shrinking.map((s) => scaleDeployment(kube, ns, s.canaryDeployment, target(s))));
      await waitCanariesAvailable({ ...rel, state: { ...rel.state, services: shrinking } }, target);
    }
  }
  progress.info(`weight ${step.weight} verified on ${rel.routers.length} route object(s)`);
  await checkObservedSplit(rel, step.weight, label, rec);
  progress.waiting("smoke tests through the public URL");
  await smokeServices(rel, { canary: false, stepName: label, record: rec });
  const probes = await observe(rel, step.observeMs, label, rec);
  rec.detail = step.observeMs > 0 ? `observed ${formatDuration(step.observeMs)}, ${probes} smoke probe(s) passed` : undefined;
  rel.state.passedWeight = step.weight;
  await writeInFlight(kube, ns, rel.state);
}

/**
 * The observation window: health watches on every canary, periodic smoke probes and metric analysis (when
 * release.yaml has `analysis:`), until the window ends (resolves with the number of probes) or the first
 * failure (rejects with StepFailure).
 */
export async function observe(rel: Release, windowMs: number, label: string, rec?: StepRecord): Promise<number> {
  if (windowMs <= 0) return 0;
  const { kube, config, progress } = rel.env;
  progress.waiting(
    `observation window of ${formatDuration(windowMs)} (health watch${config.analysis ? ", smoke probes and metric analysis" : " and smoke probes"})`,
  );
  const window = new AbortController();
  const signal = AbortSignal.any([rel.signal, window.signal]);
  // Metric analysis is not cut by the window's end (its last evaluation is at the end), only by a failure elsewhere.
  const stopped = new AbortController();
  const timer = setTimeout(() => window.abort(), windowMs);
  let probes = 0;
  const watches = rel.state.services.map(async (s) => {
    const failure = await watchCanaryHealth({
      kube,
      namespace: config.namespace,
      deployment: s.canaryDeployment,
      signal,
      limits: healthLimits(rel),
    });
    if (failure) throw new StepFailure(label, `canary health: ${failure.message}`);
  });
  const probing = (async () => {
    for (;;) {
      try {
        await sleep(Math.min(config.smoke.probeInterval, windowMs), undefined, { signal });
      } catch {
        return;
      }
      try {
        await smokeServices(rel, { canary: false, stepName: label, signal });
      } catch (err) {
        if (signal.aborted) return; // The window closed mid-probe: not a verdict.
        throw err;
      }
      probes++;
    }
  })();
  // Metric analysis (analysis/): a failed check rolls back like a failed smoke test.
  const analysing = observeMetrics(rel.env, {
    services: rel.state.services.map((s) => s.name),
    windowMs,
    signal: AbortSignal.any([rel.signal, stopped.signal]),
    onEvaluation: (e) => rec && (rec.analysis ??= []).push(e),
  }).catch((err: unknown) => {
    throw err instanceof AnalysisFailure ? new StepFailure(label, `metric analysis: ${err.message}`) : err;
  });
  try {
    await Promise.all([...watches, probing, analysing]);
  } finally {
    clearTimeout(timer);
    window.abort();
    stopped.abort();
  }
  rel.signal.throwIfAborted();
  return probes;
}

/** Promotion (I3): stable changes only now; traffic returns to it only once its rollout is complete. */
export async function runPromoteStep(rel: Release, rec: StepRecord, opts: { skipCanary: boolean }): Promise<void> {
  const { kube, config, progress } = rel.env;
  const ns = config.namespace;
  // Written before stable is touched, so a run killed from here on is repaired by restoring the template.
  rel.state.promotionStarted = true;
  await writeInFlight(kube, ns, rel.state);
  await Promise.all(rel.state.services.map((s) => setContainerImage(kube, ns, s.stableDeployment, s.container, s.newImage)));
  await Promise.all(
    rel.state.services.map((s) =>
      waitRolledOut(kube, {
        namespace: ns,
        name: s.stableDeployment,
        timeoutMs: config.deadlines.stableRollout,
        signal: rel.signal,
        onWaiting: (w) => progress.waiting(w),
      }).catch((err: Error) => {
        throw new StepFailure("promote", `stable rollout failed: ${err.message}`);
      }),
    ),
  );
  if (!opts.skipCanary) {
    progress.waiting("traffic back to stable (weight 0)");
    await setWeightVerified(rel, 0, rel.signal);
  }
  progress.waiting("smoke tests through the public URL");
  await smokeServices(rel, { canary: false, stepName: "promote", record: rec });
  if (!opts.skipCanary) await scaleCanariesToZero(rel);
}

export async function scaleCanariesToZero(rel: Release): Promise<void> {
  const { kube, config } = rel.env;
  await Promise.all(rel.state.services.map((s) => scaleDeployment(kube, config.namespace, s.canaryDeployment, 0)));
}
