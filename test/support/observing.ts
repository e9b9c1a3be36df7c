/** A pipeline environment that calls `hook` once, when the observation window of the canary step at `weight` opens. */
import type { PipelineEnv } from "#src/pipeline/context.ts";
import type { Harness } from "./pipeline-harness.ts";

export function whenObserving(harness: Harness, weight: number, hook: () => void): PipelineEnv {
  let step: string | undefined;
  let called = false;
  return {
    ...harness.env,
    progress: {
      ...harness.env.progress,
      step(label, w) {
        step = label;
        harness.env.progress.step(label, w);
      },
      waiting(what, detail) {
        harness.env.progress.waiting(what, detail);
        if (called || step !== `canary ${weight}%` || !what.startsWith("observation window")) return;
        called = true;
        hook();
      },
    },
  };
}
