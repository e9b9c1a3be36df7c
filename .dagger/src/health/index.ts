/**
 * Health of the Deployments a release changes, on one shared watch of the namespace (ClusterWatch): wait for the
 * canary to become Available (waitAvailable), watch it while it serves (watchCanaryHealth), wait for stable's
 * rollout (waitRolledOut), and read the digests its pods run (runningDigests).
 */
export { ClusterWatch, type Change, type WatchedKind } from "./cluster-watch.ts";
export { watchCanaryHealth, type WatchCanaryHealthOptions } from "./watch.ts";
export { waitAvailable, CanaryUnhealthyError, type WaitAvailableOptions } from "./wait-available.ts";
export { waitRolledOut, type WaitRolloutOptions } from "./wait-rollout.ts";
export { runningDigests, awaitRunningDigests, digestOf, type RunningDigests } from "./running-image.ts";
export {
  type HealthFailure,
  type HealthLimits,
  type HealthReason,
  FATAL_WAITING_REASONS,
  podFailure,
  deploymentFailure,
  rolloutComplete,
} from "./pod-health.ts";
