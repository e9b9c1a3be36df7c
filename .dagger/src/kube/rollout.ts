/**
 * Deployment rollout state, read the way `kubectl rollout status` reads it, plus release-gate's own deadline:
 * Kubernetes never rolls back by itself and its progress deadline (600 s by default) is far too slow, so a
 * stall is reported as soon as the Deployment says so or our deadline passes, whichever comes first.
 */
import type * as k8s from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kube } from "./client.ts";

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

export interface WaitRolloutOptions {
  namespace: string;
  name: string;
  timeoutMs: number;
  signal?: AbortSignal;
  intervalMs?: number;
  /** Keep waiting through a ProgressDeadlineExceeded condition (left over from the template being replaced). */
  ignoreStall?: boolean;
  /** Told what is awaited now, for progress output. */
  onWaiting?: (what: string) => void;
}

/** Resolves when rolled out; throws RolloutFailed on a stall, a deadline, or our timeout. */
export async function waitRolledOut(kube: Kube, opts: WaitRolloutOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "";
  for (;;) {
    opts.signal?.throwIfAborted();
    const d = await kube.apps.readNamespacedDeployment({ name: opts.name, namespace: opts.namespace });
    const state = rolloutState(d);
    if (state.done) return;
    if (state.failed && !opts.ignoreStall) throw new RolloutFailed(opts.name, state.failed);
    if (state.waitingFor !== last) opts.onWaiting?.(`${opts.name}: ${state.waitingFor}`);
    last = state.waitingFor;
    if (Date.now() >= deadline)
      throw new RolloutFailed(opts.name, `not rolled out after ${Math.round(opts.timeoutMs / 1000)} s (waiting for ${state.waitingFor})`);
    await sleep(opts.intervalMs ?? 200, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}
