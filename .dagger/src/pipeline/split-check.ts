/**
 * The observed split: after a weight change, each service's public URL is sampled (where the app reports its
 * version) to check what users really get. A clear mismatch fails the step, and so does a canary that never answers
 * with its own version while the app reports versions (it runs something else than the tag); an app that reports no
 * version at all only warns.
 * Sampling has a deadline (observedSplit.deadline), which plan counts.
 */
import type { StepRecord } from "../audit/record.ts";
import { versionOf } from "../config/image-ref.ts";
import { canaryVersionNeverSeen, observeSplit } from "../traffic/observed-split.ts";
import { type Run, servicesOf, StepFailure } from "./context.ts";

export async function checkObservedSplit(run: Run, weight: number, stepName: string, rec: StepRecord): Promise<void> {
  const { config, resolve, progress } = run.env;
  const split = config.observedSplit;
  if (!split.enabled) return;
  // Sampled at once, recorded in release.yaml's order whichever sampling finishes first: the record does not depend
  // on timing (a failure records the services sampled by then, in that order too).
  const services = servicesOf(run);
  const before = rec.observedSplit ?? [];
  const sampled: Array<NonNullable<StepRecord["observedSplit"]>[number] | undefined> = services.map(() => undefined);
  await Promise.all(
    services.map(async (s, i) => {
      const expected = run.routing.for(s.name).expectedWeight(weight, s.stable.replicas);
      const canaryVersion = versionOf(s.canary.image);
      const stableVersion = s.stable.version;
      if (canaryVersion === stableVersion) return; // Same version on both sides: nothing to tell apart.
      const svc = config.services.find((c) => c.name === s.name)!;
      const target = resolve(svc.smoke.url);
      const result = await observeSplit({
        url: target.url,
        headers: target.headers,
        versionHeader: split.versionHeader,
        stableVersion,
        canaryVersion,
        expectedWeight: expected,
        samples: split.samples,
        timeoutMs: config.smoke.timeout,
        deadlineMs: split.deadline,
        signal: run.signal,
        verdict: { falseAlarmRate: split.falseAlarmRate, tolerancePoints: split.tolerancePoints },
      });
      sampled[i] = {
        service: s.name,
        expected: Math.round(expected * 10) / 10,
        observed: Number.isNaN(result.observed) ? -1 : result.observed * 100,
        samples: result.samples,
      };
      rec.observedSplit = [...before, ...sampled.filter((x) => x !== undefined)];
      if (result.verdict === "mismatch") throw new StepFailure(stepName, `${s.name}: ${result.summary}`);
      if (canaryVersionNeverSeen(result, expected)) {
        throw new StepFailure(
          stepName,
          `${s.name}: no answer carried the canary's version ${canaryVersion} in ${split.versionHeader} (seen: ${result.examples.join("; ")}); ` +
            `the canary's app does not report the version it was released as, so what answers cannot be told to be the canary (${result.summary})`,
        );
      }
      if (result.verdict === "inconclusive")
        progress.warn(`${s.name}: observed split inconclusive (${result.summary}); relying on the routers' read-back`);
      else progress.info(`${s.name}: ${result.summary}`);
    }),
  );
}
