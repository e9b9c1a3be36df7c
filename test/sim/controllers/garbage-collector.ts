/**
 * The garbage collector, background propagation only: when an object is deleted, every object whose
 * ownerReferences all point at owners that no longer exist is deleted too (a Deployment takes its
 * ReplicaSets, which take their Pods).
 */
import { StoreError, type KObject, type Store } from "../store.ts";
import { WorkQueue } from "./queue.ts";

export class GarbageCollector {
  private readonly store: Store;
  private readonly queue: WorkQueue;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(store: Store, onError?: (key: string, err: unknown) => void) {
    this.store = store;
    this.queue = new WorkQueue(() => this.collect(), onError);
  }

  start(): void {
    for (const typeKey of this.store.types.keys()) {
      this.unsubscribe.push(
        this.store.watch(typeKey, undefined, undefined, (e) => {
          if (e.type === "DELETED") this.queue.add("collect");
        }),
      );
    }
    this.queue.add("collect");
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.queue.stop();
  }

  private collect(): void {
    const all: Array<{ typeKey: string; obj: KObject }> = [];
    for (const typeKey of this.store.types.keys()) for (const obj of this.store.list(typeKey).items) all.push({ typeKey, obj });
    const live = new Set(all.map((x) => x.obj.metadata.uid));
    for (const { typeKey, obj } of all) {
      const owners = obj.metadata.ownerReferences ?? [];
      if (owners.length === 0 || owners.some((o) => live.has(o.uid))) continue;
      try {
        this.store.delete(typeKey, obj.metadata.namespace, obj.metadata.name);
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 404)) throw err;
      }
    }
  }
}
