/**
 * Moving user traffic: every router of the release to the same weight, each change read back from the live
 * objects (verifyWeight), and, where the app reports its version, the split users really get sampled through
 * the public URL.
 */
import { expectedWeight, verifyWeight } from "../traffic/index.ts";
import { observeSplit } from "../traffic/observed-split.ts";
import type { StepRecord } from "../audit/record.ts";
import { type Release, StepFailure } from "./context.ts";

export async function setWeightVerified(rel: Release, weight: number, signal?: AbortSignal): Promise<number[]> {
  const timeoutMs = rel.env.config.deadlines.weightVerified;
  await Promise.all(
    rel.routers.map(async (r) => {
      // A route already at 0 is left alone: a canary Ingress that was never created already sends nothing.
      if (weight === 0 && (await r.getWeight().catch(() => undefined)) === 0) return;
      await r.setWeight(weight);
    }),
  );
  return Promise.all(rel.routers.map((r) => verifyWeight(r, weight, { timeoutMs, ...(signal ? { signal } : {}) })));
}

/** The version string an app reports for an image: its tag, or its digest. */
export function versionOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "latest";
}

/** Sample each service's public URL; a clear mismatch fails the step, an app without versions only warns. */
export async function checkObservedSplit(rel: Release, weight: number, stepName: string, rec: StepRecord): Promise<void> {
  const { config, resolve, progress } = rel.env;
  if (!config.observedSplit.enabled) return;
  await Promise.all(
    rel.state.services.map(async (s, i) => {
      // replicas: one router per service (its share depends on that service's replicas); others: one weight.
      const expected = await expectedWeight(config.router.kind === "replicas" ? rel.routers[i] : rel.routers[0], weight);
      const canaryVersion = versionOf(s.newImage);
      const stableVersion = versionOf(s.previousImage);
      if (canaryVersion === stableVersion) return; // Same version on both sides: nothing to tell apart.
      const svc = config.services.find((c) => c.name === s.name)!;
      const target = resolve(svc.smoke.url);
      const result = await observeSplit({
        url: target.url,
        headers: target.headers,
        versionHeader: config.observedSplit.versionHeader,
        stableVersion,
        canaryVersion,
        expectedWeight: expected,
        samples: config.observedSplit.samples,
        timeoutMs: config.smoke.timeout,
        signal: rel.signal,
        verdict: { falseAlarmRate: config.observedSplit.falseAlarmRate, tolerancePoints: config.observedSplit.tolerancePoints },
      });
      rec.observedSplit = [
        ...(rec.observedSplit ?? []),
        {
          service: s.name,
          expected: Math.round(expected * 10) / 10,
          observed: Number.isNaN(result.observed) ? -1 : result.observed * 100,
          samples: result.samples,
        },
      ];
      if (result.verdict === "mismatch") throw new StepFailure(stepName, `${s.name}: ${result.summary}`);
      if (result.verdict === "inconclusive")
        progress.warn(`${s.name}: observed split inconclusive (${result.summary}); relying on the routers' read-back`);
      else progress.info(`${s.name}: ${result.summary}`);
    }),
  );
}
