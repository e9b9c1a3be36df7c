/**
 * Deployment rollout state, read the way `kubectl rollout status` reads it. Waiting for it (on a watch, with
 * release-gate's own deadline: Kubernetes never rolls back by itself and its progress deadline, 600 s by default,
 * is far too slow) is health/wait-rollout.ts's job.
 */
import type * as k8s from "@kubernetes/client-node";

export type RolloutState = { done: true } | { done: false; waitingFor: string; failed?: string };

/** Pure: is this Deployment fully rolled out to `spec.replicas` Available pods of its current template? */
export function rolloutState(d: k8s.V1Deployment): RolloutState {
  const spec = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const generation = d.metadata?.generation ?? 0;
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if ((s.observedGeneration ?? 0) < generation) return { done: false, waitingFor: "the spec update to be observed" };
  const updated = s.updatedReplicas ?? 0;
  const total = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  let waitingFor: string | undefined;
  if (updated < spec) waitingFor = `${updated} of ${spec} updated replicas`;
  else if (total > updated) waitingFor = `${total - updated} old replicas to terminate`;
  else if (available < updated) waitingFor = `${available} of ${updated} updated replicas available`;
  if (waitingFor === undefined) return { done: true };
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return { done: false, waitingFor, failed: `ProgressDeadlineExceeded: ${progressing.message ?? "rollout stalled"}` };
  }
  return { done: false, waitingFor };
}

export class RolloutFailed extends Error {
  readonly deployment: string;
  constructor(deployment: string, reason: string) {
    super(`Deployment ${deployment}: ${reason}`);
    this.name = "RolloutFailed";
    this.deployment = deployment;
  }
}
