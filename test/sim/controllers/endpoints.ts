/**
 * The Endpoints controller: for every Service with a selector, an Endpoints object of the same name listing
 * the matching pods with an IP, Ready ones under `addresses` and the others under `notReadyAddresses`, with
 * the Service's ports (targetPort numbers). The edge routes from pods directly; this is for readers such as
 * `kubectl get endpoints` and `kubectl describe service`.
 */
import { StoreError, type KObject, type Store } from "../store.ts";
import { WorkQueue } from "./queue.ts";
import { matchesServiceSelector } from "./selectors.ts";
import { isPodReady, PODS, SERVICES, type Pod } from "./types.ts";

const ENDPOINTS = "/v1/endpoints";

interface Service extends KObject {
  spec?: { selector?: Record<string, string>; ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }> };
}

export class EndpointsController {
  private readonly store: Store;
  private readonly queue: WorkQueue;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(store: Store, onError?: (key: string, err: unknown) => void) {
    this.store = store;
    this.queue = new WorkQueue((key) => this.syncNamespace(key), onError);
  }

  start(): void {
    if (!this.store.types.has(ENDPOINTS)) return;
    this.unsubscribe.push(this.store.watch(PODS, undefined, undefined, (e) => this.queue.add(e.object.metadata.namespace ?? "default")));
    this.unsubscribe.push(this.store.watch(SERVICES, undefined, undefined, (e) => {
      const ns = e.object.metadata.namespace ?? "default";
      if (e.type === "DELETED") this.queue.add(`deleted/${ns}/${e.object.metadata.name}`);
      else this.queue.add(ns);
    }));
    for (const s of this.store.list(SERVICES).items) this.queue.add(s.metadata.namespace ?? "default");
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.queue.stop();
  }

  private syncNamespace(key: string): void {
    if (key.startsWith("deleted/")) {
      const [, ns, name] = key.split("/") as [string, string, string];
      if (!this.store.get(SERVICES, ns, name) && this.store.get(ENDPOINTS, ns, name)) this.store.delete(ENDPOINTS, ns, name);
      return;
    }
    const namespace = key;
    const pods = this.store.list(PODS, namespace).items as Pod[];
    for (const svc of this.store.list(SERVICES, namespace).items as Service[]) {
      const selector = svc.spec?.selector;
      if (!selector || Object.keys(selector).length === 0) continue; // manually managed Endpoints
      const address = (p: Pod) => ({ ip: p.status!.podIP!, nodeName: p.spec.nodeName, targetRef: { kind: "Pod", namespace, name: p.metadata.name, uid: p.metadata.uid } });
      const members = pods.filter((p) => p.status?.podIP && matchesServiceSelector(selector, p.metadata.labels)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      const ready = members.filter(isPodReady).map(address);
      const notReady = members.filter((p) => !isPodReady(p)).map(address);
      const ports = (svc.spec?.ports ?? []).map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: typeof p.targetPort === "number" ? p.targetPort : p.port,
        protocol: p.protocol ?? "TCP",
      }));
      const subsets = members.length ? [{ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports }] : [];
      const existing = this.store.get(ENDPOINTS, namespace, svc.metadata.name);
      if (existing) {
        if (JSON.stringify(existing.subsets ?? []) === JSON.stringify(subsets)) continue;
        this.store.mutate(ENDPOINTS, namespace, svc.metadata.name, (o) => {
          if (subsets.length) o.subsets = subsets;
          else delete o.subsets;
        });
        continue;
      }
      try {
        this.store.create(ENDPOINTS, {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: svc.metadata.name, namespace, labels: { ...(svc.metadata.labels ?? {}) } },
          ...(subsets.length ? { subsets } : {}),
        });
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 409)) throw err;
      }
    }
  }
}
