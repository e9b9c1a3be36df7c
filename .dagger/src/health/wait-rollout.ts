/**
 * waitRolledOut: wait until a Deployment (stable, at promotion or when its previous template is restored) has
 * rolled out, the way `kubectl rollout status` decides, on the run's ClusterWatch: no polling, so no request,
 * however many replicas roll. Fails on ProgressDeadlineExceeded (unless told to ignore a stall left over from the
 * template being replaced) and at release-gate's own deadline.
 */
import { RolloutFailed, rolloutState } from "../kube/rollout.ts";
import type { ClusterWatch } from "./cluster-watch.ts";

export interface WaitRolloutOptions {
  name: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Keep waiting through a ProgressDeadlineExceeded condition (left over from the template being replaced). */
  ignoreStall?: boolean;
  /** Told what is awaited now, for progress output. */
  onWaiting?: (what: string) => void;
}

/** Resolves when rolled out; throws RolloutFailed on a stall, a missing Deployment or the deadline. */
export async function waitRolledOut(cluster: ClusterWatch, opts: WaitRolloutOptions): Promise<void> {
  await cluster.synced();
  opts.signal?.throwIfAborted();
  let last = "";
  let settle!: (err?: Error) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  const check = () => {
    const d = cluster.deployment(opts.name);
    if (!d) return settle(new RolloutFailed(opts.name, "the Deployment does not exist (deleted?)"));
    if (!cluster.isCurrent(opts.name)) {
      last = "the change to reach the watch"; // Still the object from before the change being waited for.
      return;
    }
    const state = rolloutState(d);
    if (state.done) return settle();
    if (state.failed && !opts.ignoreStall) return settle(new RolloutFailed(opts.name, state.failed));
    if (state.waitingFor !== last) opts.onWaiting?.(`${opts.name}: ${state.waitingFor}`);
    last = state.waitingFor;
  };
  const timer = setTimeout(
    () => settle(new RolloutFailed(opts.name, `not rolled out after ${Math.round(opts.timeoutMs / 1000)} s (waiting for ${last})`)),
    opts.timeoutMs,
  );
  const onAbort = () => settle(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error(String(opts.signal!.reason)));
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const unsubscribe = cluster.subscribe((c) => {
    if (c.kind === "deployment" && (c.type === "LIST" || c.object?.metadata?.name === opts.name)) check();
  });
  try {
    check();
    await Promise.race([done, cluster.lost()]);
  } finally {
    clearTimeout(timer);
    unsubscribe();
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
