/** From a Service to the pods behind it: Ready pods its selector matches, taken in turn (round-robin). */
import { matchesServiceSelector } from "../controllers/selectors.ts";
import { isPodReady, PODS, SERVICES, type Pod } from "../controllers/types.ts";
import type { Store } from "../store.ts";

export interface ServiceRef {
  namespace: string;
  name: string;
}

export class Backends {
  private readonly store: Store;
  private readonly cursor = new Map<string, number>();

  constructor(store: Store) {
    this.store = store;
  }

  /** Ready pods with an IP behind the Service; empty when the Service does not exist. */
  readyPods(ref: ServiceRef): Pod[] {
    const svc = this.store.get(SERVICES, ref.namespace, ref.name) as { spec?: { selector?: Record<string, string> } } | undefined;
    if (!svc) return [];
    return (this.store.list(PODS, ref.namespace).items as Pod[])
      .filter((p) => matchesServiceSelector(svc.spec?.selector, p.metadata.labels) && isPodReady(p) && p.status?.podIP && !p.metadata.deletionTimestamp)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The next Ready pod behind the Service, or undefined when there is none. */
  pick(ref: ServiceRef): Pod | undefined {
    const pods = this.readyPods(ref);
    if (pods.length === 0) return undefined;
    const key = `${ref.namespace}/${ref.name}`;
    const i = (this.cursor.get(key) ?? 0) % pods.length;
    this.cursor.set(key, i + 1);
    return pods[i];
  }
}
