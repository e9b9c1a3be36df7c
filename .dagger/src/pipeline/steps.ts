/**
 * The two kinds of step the phase machine runs, each a straight list of actions taken from the plan's data: a
 * canary step (capacity first, then traffic, then checks and observation) and promotion. runStep wraps either:
 * its record, the journal written before its first change, and its verdict.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AnalysisFailure, observeMetrics } from "../analysis/index.ts";
import type { StepRecord } from "../audit/record.ts";
import { formatDuration } from "../config/duration.ts";
import { awaitRunningDigests, waitAvailable, waitRolledOut, watchCanaryHealth } from "../health/index.ts";
import { describeApiError, explainApiFailure, isApiFailure, isNotFound } from "../kube/api-errors.ts";
import { scaleDeployment, setContainerImage } from "../kube/deployments.ts";
import { finishStep, healthLimits, newStepRecord, type Run, servicesOf, StepFailure } from "./context.ts";
import type { ServiceInFlight } from "./journal.ts";
import type { Step } from "./plan.ts";
import { canaryPodsReady, ObservationLog } from "./observation.ts";
import { checkObservedSplit } from "./split-check.ts";
import { foreignStableChanges, promotedAnnotations, promotedImage, type StableIs } from "./stable-guard.ts";
import { smokeServices } from "./smoke-services.ts";

type CanaryStep = Extract<Step, { kind: "canary" }>;

/** Why a run stopped, in words: the cancellation, or the error (an API failure named with its server and object). */
export function reasonOf(err: unknown, run: Pick<Run, "env" | "signal">): string {
  if (run.signal.aborted) {
    const r: unknown = run.signal.reason;
    return `cancelled: ${r instanceof Error ? r.message : String(r ?? "aborted")}`;
  }
  if (isApiFailure(err)) return explainApiFailure(err, run.env.kube.kc.getCurrentCluster()?.server, run.env.config.namespace);
  return err instanceof Error ? err.message : String(err);
}

/**
 * One step: its record in the run's record, `begin` (the journal write before its first change), progress, then
 * `body`; the step ends passed, failed, or interrupted (the run was cancelled), and a failure is rethrown.
 */
export async function runStep(
  run: Run,
  label: string,
  weight: number | undefined,
  begin: () => Promise<void>,
  body: (rec: StepRecord) => Promise<void>,
): Promise<void> {
  const rec = newStepRecord(label, weight);
  run.record.steps.push(rec);
  try {
    await begin();
    run.env.progress.step(label, weight);
    await body(rec);
    run.signal.throwIfAborted();
    finishStep(rec, "passed", rec.detail);
  } catch (err) {
    finishStep(rec, run.signal.aborted ? "interrupted" : "failed", reasonOf(err, run));
    throw err;
  }
}

/**
 * Scale a Deployment, and tell the watch which generation to wait for. A Deployment scaled to 0 that does not exist
 * (deleted during the release) has no pod to stop: that is reported, not a failure.
 */
export async function scale(run: Run, deployment: string, replicas: number): Promise<void> {
  const { kube, config, progress } = run.env;
  try {
    run.cluster.noteWrite(await scaleDeployment(kube, config.namespace, deployment, replicas));
  } catch (err) {
    if (!(replicas === 0 && isNotFound(err))) throw err;
    progress.warn(`Deployment ${config.namespace}/${deployment} does not exist (deleted during the release): no pod of it to scale down`);
  }
}

/** Set a Deployment's container image (and template annotations), and tell the watch which generation to wait for. */
export async function setImage(run: Run, deployment: string, container: string, image: string, annotations?: Record<string, string>) {
  run.cluster.noteWrite(await setContainerImage(run.env.kube, run.env.config.namespace, deployment, container, image, annotations));
}

/** Every canary Available at `replicasOf` (its pods Ready, none of an older template left), or the step fails. */
async function waitCanariesAvailable(run: Run, services: ServiceInFlight[], replicasOf: (s: ServiceInFlight) => number): Promise<void> {
  const { config, progress } = run.env;
  await Promise.all(
    services.map(async (s) => {
      const replicas = replicasOf(s);
      progress.waiting(`${s.canary.deployment}: ${replicas} pods Available`, () => `canary pods Ready: ${canaryPodsReady(run)}`);
      await waitAvailable({
        cluster: run.cluster,
        deployment: s.canary.deployment,
        replicas,
        timeoutMs: config.deadlines.canaryAvailable,
        signal: run.signal,
        limits: healthLimits(config),
      });
    }),
  );
}

/**
 * The digest every canary pod runs (their imageID): recorded the first time, checked against that afterwards.
 * Stable is promoted to exactly it, so a tag pushed again during the release never reaches stable untested.
 */
async function checkCanaryDigests(run: Run, services: ServiceInFlight[], replicasOf: (s: ServiceInFlight) => number, label: string) {
  const { config, progress } = run.env;
  await Promise.all(
    services.map(async (s) => {
      const replicas = replicasOf(s);
      if (replicas === 0) return;
      const found = await awaitRunningDigests(run.cluster, {
        deployment: s.canary.deployment,
        container: s.container,
        replicas,
        timeoutMs: config.deadlines.canaryAvailable,
        signal: run.signal,
      });
      const pods = (names: string[]) => `${names.length} pod(s): ${names.join(", ")}`;
      if (found.digests.size > 1) {
        const list = [...found.digests].map(([d, names]) => `${d} (${pods(names)})`).join(", ");
        throw new StepFailure(
          label,
          `the canary of ${s.name} runs different images under ${s.canary.image}: ${list}; the tag was pushed again while the release ran, ` +
            `so what passed cannot be told apart`,
        );
      }
      const [digest] = found.digests.keys();
      if (!digest) {
        progress.warn(
          `${s.canary.deployment}: its pods report no image digest (imageID); stable will be promoted by tag, ${s.canary.image}`,
        );
        return;
      }
      if (s.canary.digest && s.canary.digest !== digest) {
        throw new StepFailure(
          label,
          `the canary of ${s.name} now runs ${digest}, not ${s.canary.digest}, the digest this release recorded (what passed its earlier ` +
            `phases, or for an undo what stable ran before): ${s.canary.image} was pushed again since`,
        );
      }
      if (!s.canary.digest)
        progress.info(`${s.name}: the canary runs ${s.canary.image} as ${digest}; stable will be promoted to exactly that`);
      run.journal.canaryDigest(s.name, digest);
    }),
  );
}

export async function runCanaryStep(run: Run, step: CanaryStep, rec: StepRecord): Promise<void> {
  const { config, progress } = run.env;
  const label = `canary ${step.weight}%`;
  const services = servicesOf(run);
  const stableReplicas = (name: string) => services.find((s) => s.name === name)?.stable.replicas ?? 1;
  // I1: capacity up before traffic moves to it, traffic away before capacity goes down. An operator's
  // `canary --weight` may lower the weight (50 → 10): then the weight is set and verified first, and only
  // then is the canary scaled down to its smaller size.
  const target = (s: ServiceInFlight) => run.routing.for(s.name).canaryReplicas(step.weight, s.stable.replicas);
  const before = new Map(services.map((s) => [s.name, run.cluster.deployment(s.canary.deployment)?.spec?.replicas ?? 0]));
  const growing = services.filter((s) => target(s) > before.get(s.name)!);
  const shrinking = services.filter((s) => target(s) < before.get(s.name)!);
  await Promise.all(growing.map((s) => scale(run, s.canary.deployment, target(s))));
  const sized = (s: ServiceInFlight) => Math.max(target(s), before.get(s.name)!);
  await waitCanariesAvailable(run, services, sized);
  await checkCanaryDigests(run, services, sized, label);
  if (step.directSmoke && run.routing.canaryHeader) {
    progress.waiting("smoke tests straight to the canary (no user traffic yet)");
    await smokeServices(run, { canary: true, stepName: label, record: rec });
  }
  progress.waiting(`weight ${step.weight} to take effect`);
  await run.routing.setWeightVerified(step.weight, stableReplicas, { timeoutMs: config.deadlines.weightVerified, signal: run.signal });
  if (shrinking.length) {
    progress.waiting(
      `${shrinking.map((s) => s.canary.deployment).join(", ")}: scaled down to the size of weight ${step.weight}, now that the weight is verified`,
    );
    await Promise.all(shrinking.map((s) => scale(run, s.canary.deployment, target(s))));
    await waitCanariesAvailable(run, shrinking, target);
  }
  progress.info(`weight ${step.weight} verified on ${run.routing.routers.length} route object(s)`);
  if (config.observedSplit.enabled) progress.waiting("the observed split: the public URL sampled for the canary's share");
  await checkObservedSplit(run, step.weight, label, rec);
  progress.waiting("smoke tests through the public URL");
  await smokeServices(run, { canary: false, stepName: label, record: rec });
  const probes = await observe(run, step.observeMs, label, rec, step.weight);
  if (step.observeMs > 0) rec.detail = `observed ${formatDuration(step.observeMs)}, ${probes} smoke probe(s) passed`;
  run.journal.passed(step.weight);
}

/**
 * The observation window: health watches on every canary, periodic smoke probes (the public URL, and the canary
 * directly where the router routes by header) and metric analysis (when
 * release.yaml has `analysis:`), until the window ends (resolves with the number of probes) or the first
 * failure (rejects with StepFailure). What it knows is told as it goes (observation.ts: heartbeat, in-flight
 * state), and the first failing signal is kept in the step's record with when it was first seen.
 */
export async function observe(run: Run, windowMs: number, label: string, rec?: StepRecord, weight = rec?.weight ?? 0): Promise<number> {
  if (windowMs <= 0) return 0;
  const { config, progress } = run.env;
  const log = new ObservationLog(run, { weight, windowMs, ...(rec ? { rec } : {}) });
  progress.waiting(
    `observation window of ${formatDuration(windowMs)} to end (` +
      `health watch${config.analysis ? ", smoke probes and metric analysis" : " and smoke probes"}; any failure rolls back)`,
    log.detail,
  );
  log.start();
  const window = new AbortController();
  const signal = AbortSignal.any([run.signal, window.signal]);
  // Metric analysis is not cut by the window's end (its last evaluation is at the end), only by a failure elsewhere.
  const stopped = new AbortController();
  const timer = setTimeout(() => window.abort(), windowMs);
  let probes = 0;
  const watches = servicesOf(run).map(async (s) => {
    const failure = await watchCanaryHealth({
      cluster: run.cluster,
      deployment: s.canary.deployment,
      signal,
      limits: healthLimits(config),
    });
    if (failure) {
      log.detected("canary health", failure.reason, failure.firstSeenAt);
      throw new StepFailure(label, `canary health: ${failure.message}`);
    }
  });
  const routes = guardRoutes(run, label, signal);
  const probing = (async () => {
    for (;;) {
      try {
        await sleep(Math.min(config.smoke.probeInterval, windowMs), undefined, { signal });
      } catch {
        return;
      }
      try {
        // The public URL (what users get), and the canary itself through the canary header where the router has one:
        // at 10 % a public probe meets the canary one time in ten, so a canary answering errors would be found by luck.
        await Promise.all([
          smokeServices(run, { canary: false, stepName: label, signal }),
          ...(run.routing.canaryHeader ? [smokeServices(run, { canary: true, stepName: label, signal })] : []),
        ]);
      } catch (err) {
        if (signal.aborted) return; // The window closed mid-probe: not a verdict.
        const failed = err instanceof Error ? [err.message.replace(/^smoke tests failed: /, "")] : [];
        log.probeFailed(failed);
        log.detected("smoke probe", failed.join("; "));
        throw err;
      }
      probes++;
      log.probePassed();
    }
  })();
  // Metric analysis (analysis/): a failed check rolls back like a failed smoke test.
  const analysing = observeMetrics(run.env, {
    services: servicesOf(run).map((s) => s.name),
    windowMs,
    weight,
    earlierSteps: run.record.steps.filter((s) => s !== rec),
    signal: AbortSignal.any([run.signal, stopped.signal]),
    onEvaluation: (e) => rec && (rec.analysis ??= []).push(e),
  }).catch((err: unknown) => {
    if (!(err instanceof AnalysisFailure)) throw err;
    log.detected("metric analysis", err.message);
    throw new StepFailure(label, `metric analysis: ${err.message}`);
  });
  try {
    await Promise.all([...watches, routes, probing, analysing]);
  } finally {
    clearTimeout(timer);
    window.abort();
    stopped.abort();
    await log.stop();
  }
  run.signal.throwIfAborted();
  return probes;
}

/** Fails the window when a route object's weight changes under it: a change this run did not make (issue 13). */
async function guardRoutes(run: Run, label: string, signal: AbortSignal): Promise<void> {
  const change = await run.routing.untilChanged(signal, run.env.config.deadlines.weightVerified);
  if (change) throw new StepFailure(label, `traffic was moved by someone else: ${change.summary}`);
}

/** With no canary, the record's digest is what stable's new pods run, once all of them are in view (best effort). */
async function recordStableDigests(run: Run): Promise<void> {
  await Promise.all(
    servicesOf(run).map(async (s) => {
      const found = await awaitRunningDigests(run.cluster, {
        deployment: s.stable.deployment,
        container: s.container,
        replicas: s.stable.replicas,
        timeoutMs: run.env.config.deadlines.stableRollout,
        signal: run.signal,
      });
      const out = run.record.services.find((x) => x.name === s.name);
      if (out && found.digests.size === 1) out.digest = [...found.digests.keys()][0];
    }),
  );
}

/**
 * Written before stable is touched (runStep's begin for promotion), once stable is found as this release can account
 * for it: a hotfix someone made by hand during the release is never promoted over (stable-guard.ts).
 */
export async function startPromotion(run: Run): Promise<void> {
  const accept: Array<StableIs["kind"]> = run.journal.state?.promotionStarted ? ["previous", "promoted"] : ["previous"];
  const changed = foreignStableChanges(run.cluster, servicesOf(run), accept);
  if (changed.length) {
    throw new StepFailure(
      "promote",
      `stable was changed by someone else during the release: ${changed.join("; ")}. release-gate does not promote over ` +
        `someone else's change: stable is left as they made it`,
    );
  }
  await run.journal.promotionStarting();
}

/**
 * Promotion (I3): stable changes only now, to exactly what the canary ran; traffic returns to it only once its
 * rollout is complete. The journal says so before stable is touched (runStep's begin: promotionStarting).
 */
export async function runPromoteStep(run: Run, rec: StepRecord, opts: { skipCanary: boolean }): Promise<void> {
  const { config, progress } = run.env;
  const services = servicesOf(run);
  await Promise.all(services.map((s) => setImage(run, s.stable.deployment, s.container, promotedImage(s), promotedAnnotations(s))));
  await Promise.all(
    services.map((s) =>
      waitRolledOut(run.cluster, {
        name: s.stable.deployment,
        timeoutMs: config.deadlines.stableRollout,
        signal: run.signal,
        onWaiting: (w) => progress.waiting(w),
      }).catch((err: unknown) => {
        throw new StepFailure("promote", `stable rollout failed: ${describeApiError(err)}`);
      }),
    ),
  );
  const overridden = foreignStableChanges(run.cluster, services, ["promoted"]);
  if (overridden.length) throw new StepFailure("promote", `stable was changed by someone else during promotion: ${overridden.join("; ")}`);
  if (opts.skipCanary) await recordStableDigests(run);
  if (!opts.skipCanary) {
    progress.waiting("traffic back to stable (weight 0)");
    const stableReplicas = (name: string) => services.find((s) => s.name === name)?.stable.replicas ?? 1;
    await run.routing.setWeightVerified(0, stableReplicas, { timeoutMs: config.deadlines.weightVerified, signal: run.signal });
  }
  progress.waiting("smoke tests through the public URL");
  await smokeServices(run, { canary: false, stepName: "promote", record: rec });
  if (!opts.skipCanary) await Promise.all(services.map((s) => scale(run, s.canary.deployment, 0)));
}
