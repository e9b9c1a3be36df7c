/**
 * What image a Deployment's pods really run: the digests their kubelets report (containerStatuses[].imageID) for
 * the pods of its current ReplicaSet. A tag can be pushed again while a release runs; the digest cannot.
 */
import type * as k8s from "@kubernetes/client-node";
import type { ClusterWatch } from "./cluster-watch.ts";
import { isPodReady, isTerminating, ownedBy } from "./pod-health.ts";

const DIGEST = /sha256:[a-f0-9]{64}/;

/** The sha256 digest in an imageID ("docker.io/library/web@sha256:…", "sha256:…"), if any. */
export function digestOf(imageID: string | undefined): string | undefined {
  return imageID?.match(DIGEST)?.[0];
}

export interface RunningDigests {
  /** Each digest reported, with the pods that run it. */
  digests: Map<string, string[]>;
  /** Ready pods of the current ReplicaSet whose kubelet reported no digest (yet). */
  unknown: string[];
}

/** The digests the Ready pods of `deployment`'s current ReplicaSet run for `container`. */
export function runningDigests(cluster: ClusterWatch, deployment: string, container: string): RunningDigests {
  const out: RunningDigests = { digests: new Map(), unknown: [] };
  // Until the current ReplicaSet is known, a pod of an older template could pass for one of it: none is counted.
  const hash = cluster.currentHash(deployment);
  if (!hash) return out;
  const pods = cluster
    .pods()
    .filter(
      (p: k8s.V1Pod) => !isTerminating(p) && isPodReady(p) && ownedBy(p, deployment) && p.metadata?.labels?.["pod-template-hash"] === hash,
    );
  for (const p of pods) {
    const name = p.metadata?.name ?? "?";
    const digest = digestOf(p.status?.containerStatuses?.find((c) => c.name === container)?.imageID);
    if (!digest) out.unknown.push(name);
    else out.digests.set(digest, [...(out.digests.get(digest) ?? []), name]);
  }
  return out;
}

/**
 * runningDigests once `replicas` Ready pods of the current ReplicaSet are in view: the Deployment can say
 * Available a moment before the pod watch brings the pods' own status.
 */
export async function awaitRunningDigests(
  cluster: ClusterWatch,
  o: { deployment: string; container: string; replicas: number; timeoutMs: number; signal?: AbortSignal },
): Promise<RunningDigests> {
  const count = () => {
    const r = runningDigests(cluster, o.deployment, o.container);
    return { r, n: r.unknown.length + [...r.digests.values()].reduce((sum, pods) => sum + pods.length, 0) };
  };
  let now = count();
  if (now.n >= o.replicas) return now.r;
  return new Promise<RunningDigests>((resolve, reject) => {
    const finish = (err?: unknown) => {
      clearTimeout(timer);
      unsubscribe();
      o.signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) reject(err);
      else resolve(now.r);
    };
    const onAbort = () => finish(o.signal!.reason);
    // Past the deadline, what is in view is the answer (the caller judges it).
    const timer = setTimeout(() => finish(), o.timeoutMs);
    const unsubscribe = cluster.subscribe((c) => {
      if (c.kind === "deployment") return;
      now = count();
      if (now.n >= o.replicas) finish();
    });
    o.signal?.addEventListener("abort", onAbort, { once: true });
    cluster.lost().catch((err: unknown) => finish(err));
  });
}
