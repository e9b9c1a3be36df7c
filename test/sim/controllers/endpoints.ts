/**
 * The Endpoints controller: for every Service with a selector, an Endpoints object of the same name listing
 * the matching pods with an IP, Ready ones under `addresses` and the others under `notReadyAddresses`, with
 * the ports each pod serves the Service's ports on (a named targetPort resolved against the pod's container
 * ports, `ports.ts`). The edge routes from pods directly, with the same resolution; this is for readers such as
 * `kubectl get endpoints` and `kubectl describe service`.
 */
import { StoreError, type KObject, type Store } from "../store.ts";
import { WorkQueue } from "./queue.ts";
import { podPortFor, type ServicePort } from "./ports.ts";
import { matchesServiceSelector } from "./selectors.ts";
import { isPodReady, PODS, SERVICES, type Pod } from "./types.ts";

const ENDPOINTS = "/v1/endpoints";

interface Service extends KObject {
  spec?: { selector?: Record<string, string>; ports?: ServicePort[] };
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
    this.unsubscribe.push(
      this.store.watch(SERVICES, undefined, undefined, (e) => {
        const ns = e.object.metadata.namespace ?? "default";
        if (e.type === "DELETED") this.queue.add(`deleted/${ns}/${e.object.metadata.name}`);
        else this.queue.add(ns);
      }),
    );
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
      const address = (p: Pod) => ({
        ip: p.status!.podIP!,
        nodeName: p.spec.nodeName,
        targetRef: { kind: "Pod", namespace, name: p.metadata.name, uid: p.metadata.uid },
      });
      const members = pods
        .filter((p) => p.status?.podIP && matchesServiceSelector(selector, p.metadata.labels))
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      // Each pod is listed with the ports its Service ports resolve to (a named targetPort through the pod's own
      // container ports); a pod that resolves none of them is left out, and pods resolving to the same ports share
      // a subset (the endpoints controller's per-port addEndpointSubset, then RepackSubsets).
      const bySignature = new Map<string, { ports: Array<{ name?: string; port: number; protocol: string }>; members: Pod[] }>();
      for (const pod of members) {
        const ports = (svc.spec?.ports ?? []).flatMap((p) => {
          const port = podPortFor(pod, p);
          return port === undefined ? [] : [{ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol ?? "TCP" }];
        });
        if (ports.length === 0 && (svc.spec?.ports ?? []).length > 0) continue;
        const signature = JSON.stringify(ports);
        const group = bySignature.get(signature) ?? { ports, members: [] };
        group.members.push(pod);
        bySignature.set(signature, group);
      }
      const subsets = [...bySignature.values()].map(({ ports, members: group }) => {
        const ready = group.filter(isPodReady).map(address);
        const notReady = group.filter((p) => !isPodReady(p)).map(address);
        return { ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports };
      });
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
