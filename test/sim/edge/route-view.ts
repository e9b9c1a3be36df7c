/**
 * The routing objects (Ingresses, HTTPRoutes, Gateways) as the edge's controller has programmed them: a copy
 * that follows the store `propagationSeconds` (simulated) after each write, as ingress-nginx's sync loop and a
 * Gateway implementation's reconciliation lag behind the API. With no delay it is the store itself.
 */
import type { Clock } from "../clock.ts";
import { GATEWAYS, HTTPROUTES, INGRESSES, NAMESPACES, REFERENCEGRANTS } from "../controllers/types.ts";
import type { KObject, Store, StoreEvent } from "../store.ts";

/** What route selection reads: the store, or this delayed copy of it. */
export interface RouteSource {
  has(typeKey: string): boolean;
  list(typeKey: string): KObject[];
  get(typeKey: string, namespace: string | undefined, name: string): KObject | undefined;
  /** A namespace's labels as they are now (for a listener's `allowedRoutes.namespaces.selector`). */
  namespaceLabels(name: string): Record<string, string> | undefined;
}

export const ROUTING_TYPES = [INGRESSES, HTTPROUTES, GATEWAYS, REFERENCEGRANTS];

export class RouteView implements RouteSource {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly delaySeconds: () => number;
  private readonly objects = new Map<string, Map<string, KObject>>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(store: Store, clock: Clock, delaySeconds: () => number) {
    this.store = store;
    this.clock = clock;
    this.delaySeconds = delaySeconds;
  }

  start(): void {
    for (const typeKey of ROUTING_TYPES) {
      if (!this.store.types.has(typeKey)) continue;
      const m = new Map<string, KObject>();
      this.objects.set(typeKey, m);
      for (const o of this.store.list(typeKey).items) m.set(idOf(o), o);
      this.unsubscribe.push(
        this.store.watch(typeKey, undefined, undefined, (e) => {
          const delay = this.delaySeconds();
          if (delay <= 0) this.apply(e);
          else this.clock.after(delay, () => this.apply(e));
        }),
      );
    }
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  has(typeKey: string): boolean {
    return this.objects.has(typeKey);
  }

  list(typeKey: string): KObject[] {
    return [...(this.objects.get(typeKey)?.values() ?? [])].sort((a, b) => idOf(a).localeCompare(idOf(b)));
  }

  get(typeKey: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.objects.get(typeKey)?.get(`${namespace ?? ""}/${name}`);
  }

  namespaceLabels(name: string): Record<string, string> | undefined {
    return this.store.get(NAMESPACES, undefined, name)?.metadata.labels;
  }

  private apply(e: StoreEvent): void {
    const m = this.objects.get(e.typeKey);
    if (!m) return;
    if (e.type === "DELETED") m.delete(idOf(e.object));
    else m.set(idOf(e.object), e.object);
  }
}

const idOf = (o: KObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** The store itself as a RouteSource (no propagation delay). */
export function liveRoutes(store: Store): RouteSource {
  return {
    has: (typeKey) => store.types.has(typeKey),
    list: (typeKey) => store.list(typeKey).items,
    get: (typeKey, namespace, name) => store.get(typeKey, namespace, name),
    namespaceLabels: (name) => store.get(NAMESPACES, undefined, name)?.metadata.labels,
  };
}
