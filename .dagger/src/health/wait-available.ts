/**
 * waitAvailable: wait until a Deployment (the canary) has rolled out `replicas` available pods (the kubectl
 * rollout-status rule), failing fast on the health failures that will not fix themselves.
 */
import { FailedError } from "../errors.ts";
import { CanaryMonitor } from "./canary-monitor.ts";
import { type WatchSource, withClusterWatch } from "./cluster-source.ts";
import { type HealthFailure, type HealthLimits, checkLimits, rolloutComplete, rolloutProgress } from "./pod-health.ts";

/** The canary is unhealthy: `failure` says which pod/container and why. Exit code 1. */
export class CanaryUnhealthyError extends FailedError {
  readonly failure: HealthFailure;
  constructor(failure: HealthFailure, context: string) {
    super(`${context}: ${failure.message}`);
    this.name = "CanaryUnhealthyError";
    this.failure = failure;
  }
}

export type WaitAvailableOptions = WatchSource & {
  deployment: string;
  /** The replica count the Deployment was scaled to. */
  replicas: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Only maxRestarts and notReadyGraceMs matter while waiting (a starting pod has the whole timeout to become Ready). */
  limits: Pick<HealthLimits, "maxRestarts" | "notReadyGraceMs">;
};

/**
 * Resolves once observedGeneration ≥ generation and updatedReplicas = replicas = availableReplicas = `replicas`
 * (no old pods left). Throws CanaryUnhealthyError at the first fatal container state, restart limit, pod
 * Ready → not Ready past the grace, ProgressDeadlineExceeded or ReplicaFailure; FailedError naming every pod and
 * its state when `timeoutMs` passes; the signal's reason when aborted. Changes nothing in the cluster.
 */
export async function waitAvailable(opts: WaitAvailableOptions): Promise<void> {
  const { deployment, replicas, timeoutMs } = opts;
  if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`waitAvailable: replicas must be an integer ≥ 0, got ${replicas}`);
  await withClusterWatch(opts, async (cluster) => {
    const where = `canary Deployment ${cluster.namespace}/${deployment}`;
    let complete = false;
    let timedOut = false;
    const monitor = new CanaryMonitor({
      cluster,
      deployment,
      // Waiting has its own deadline (timeoutMs); the steady-state limits do not apply to a starting canary.
      limits: checkLimits({ ...opts.limits, unavailableGraceMs: timeoutMs, readyDeadlineMs: timeoutMs }),
      steadyState: false,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onDeployment: (d) => {
        if (rolloutComplete(d, replicas)) {
          complete = true;
          monitor.stop();
        }
      },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      monitor.stop();
    }, timeoutMs);
    try {
      const end = await monitor.run();
      if (end.kind === "failure") throw new CanaryUnhealthyError(end.failure, `${where} did not become Available`);
      if (complete) return;
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (timedOut) {
        const d = monitor.deploymentNow;
        const progress = d ? rolloutProgress(d, replicas) : "Deployment not seen";
        const pods = monitor.describePods();
        throw new FailedError(
          `${where} not Available after ${timeoutMs} ms (${progress}); pods: ${pods.length ? pods.join("; ") : "none"}`,
        );
      }
      throw new FailedError(`${where}: stopped waiting before it became Available`);
    } finally {
      clearTimeout(timer);
    }
  });
}
