/**
 * Canary health: watch the canary while it serves (watchCanaryHealth) and wait for it to become Available
 * (waitAvailable). Both use client-node watches that survive dropped connections and 410 Gone.
 */
export { watchCanaryHealth, type WatchCanaryHealthOptions } from "./watch.ts";
export { waitAvailable, CanaryUnhealthyError, type WaitAvailableOptions } from "./wait-available.ts";
export {
  type HealthFailure,
  type HealthLimits,
  type HealthReason,
  DEFAULT_LIMITS,
  FATAL_WAITING_REASONS,
  podFailure,
  deploymentFailure,
  rolloutComplete,
} from "./pod-health.ts";
