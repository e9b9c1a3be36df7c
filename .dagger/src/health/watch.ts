/**
 * watchCanaryHealth: the canary's health during an observation window (and anywhere else the pipeline waits
 * with the canary serving). Resolves with the first failure, or with undefined once `signal` aborts; the
 * watches are closed in both cases before the promise settles.
 */
import type { Kube } from "../kube/client.ts";
import { CanaryMonitor } from "./canary-monitor.ts";
import { type HealthFailure, type HealthLimits, resolveLimits } from "./pod-health.ts";

export interface WatchCanaryHealthOptions {
  kube: Kube;
  namespace: string;
  /** The canary Deployment. */
  deployment: string;
  /** Abort to stop watching: the promise then resolves with undefined. */
  signal: AbortSignal;
  limits?: Partial<HealthLimits>;
  /** Called when a dropped watch is re-established (for progress output). */
  onRewatch?: (what: "pods" | "deployment", why: string) => void;
}

/**
 * Watch the canary Deployment and its pods until the first failure (resolved, never thrown):
 * CrashLoopBackOff / ImagePullBackOff / ErrImagePull / CreateContainerConfigError (and the other fatal waiting
 * reasons), restarts above `maxRestarts`, a pod Ready → not Ready for longer than `notReadyGraceMs`, a pod
 * never Ready within `readyDeadlineMs`, Progressing=False ProgressDeadlineExceeded, ReplicaFailure, or
 * Available=False for longer than `unavailableGraceMs`. Rejects (FailedError) only if the Deployment cannot be
 * read or the watch cannot be re-established.
 */
export async function watchCanaryHealth(opts: WatchCanaryHealthOptions): Promise<HealthFailure | undefined> {
  const monitor = new CanaryMonitor({
    kube: opts.kube,
    namespace: opts.namespace,
    deployment: opts.deployment,
    limits: resolveLimits(opts.limits),
    signal: opts.signal,
    steadyState: true,
    ...(opts.onRewatch ? { onRewatch: opts.onRewatch } : {}),
  });
  const end = await monitor.run();
  return end.kind === "failure" ? end.failure : undefined;
}
