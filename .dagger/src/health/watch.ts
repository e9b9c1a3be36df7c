/**
 * watchCanaryHealth: the canary's health during an observation window (and anywhere else the pipeline waits
 * with the canary serving). Resolves with the first failure, or with undefined once `signal` aborts.
 */
import { CanaryMonitor } from "./canary-monitor.ts";
import { type WatchSource, withClusterWatch } from "./cluster-source.ts";
import { type HealthFailure, type HealthLimits, checkLimits } from "./pod-health.ts";

export type WatchCanaryHealthOptions = WatchSource & {
  /** The canary Deployment. */
  deployment: string;
  /** Abort to stop watching: the promise then resolves with undefined. */
  signal: AbortSignal;
  limits: HealthLimits;
};

/**
 * Watch the canary Deployment and its pods until the first failure (resolved, never thrown):
 * CrashLoopBackOff / ImagePullBackOff / ErrImagePull / CreateContainerConfigError (and the other fatal waiting
 * reasons), restarts above `maxRestarts`, a pod Ready → not Ready for longer than `notReadyGraceMs`, a pod
 * never Ready within `readyDeadlineMs`, Progressing=False ProgressDeadlineExceeded, ReplicaFailure, or
 * Available=False for longer than `unavailableGraceMs`. Rejects (FailedError) only if the Deployment is not
 * there or the watch cannot be re-established.
 */
export async function watchCanaryHealth(opts: WatchCanaryHealthOptions): Promise<HealthFailure | undefined> {
  return withClusterWatch(opts, async (cluster) => {
    const monitor = new CanaryMonitor({
      cluster,
      deployment: opts.deployment,
      limits: checkLimits(opts.limits),
      signal: opts.signal,
      steadyState: true,
    });
    const end = await monitor.run();
    return end.kind === "failure" ? end.failure : undefined;
  });
}
