/**
 * Where a health wait gets its view of the cluster: the run's shared ClusterWatch, or, for a one-off call, a watch
 * of its own, started for the call and stopped after it.
 */
import type { Kube } from "../kube/client.ts";
import { ClusterWatch, type WatchedKind } from "./cluster-watch.ts";

export type WatchSource =
  { cluster: ClusterWatch } | { kube: Kube; namespace: string; onRewatch?: (what: WatchedKind, why: string) => void; cluster?: undefined };

export async function withClusterWatch<T>(source: WatchSource, fn: (cluster: ClusterWatch) => Promise<T>): Promise<T> {
  if (source.cluster) {
    await source.cluster.synced();
    return fn(source.cluster);
  }
  const own = new ClusterWatch(source.kube, source.namespace, source.onRewatch ? { onRewatch: source.onRewatch } : {});
  try {
    await own.synced();
    return await fn(own);
  } finally {
    await own.stop();
  }
}
