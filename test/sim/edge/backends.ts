/**
 * From a Service to the pods behind it: Ready pods its selector matches that serve the referenced Service port
 * (a named targetPort must be declared by the pod, as for Endpoints), taken in turn (round-robin).
 */
import { podPortFor, type ServicePort } from "../controllers/ports.ts";
import { matchesServiceSelector } from "../controllers/selectors.ts";
import { isPodReady, PODS, SERVICES, type Pod } from "../controllers/types.ts";
import type { Store } from "../store.ts";

export interface ServiceRef {
  namespace: string;
  name: string;
  /** The Service port referenced: its number (Ingress `port.number`, HTTPRoute backendRef `port`) or its name (Ingress `port.name`). */
  port?: number | string;
}

export class Backends {
  private readonly store: Store;
  private readonly cursor = new Map<string, number>();

  constructor(store: Store) {
    this.store = store;
  }

  /** Ready pods with an IP behind the Service; empty when the Service does not exist. */
  readyPods(ref: ServiceRef): Pod[] {
    const svc = this.store.get(SERVICES, ref.namespace, ref.name) as
      { spec?: { selector?: Record<string, string>; ports?: ServicePort[] } } | undefined;
    if (!svc) return [];
    const ports = svc.spec?.ports ?? [];
    // No port named: the Service's only (or first) port. A port the Service does not have has no endpoints.
    const svcPort =
      ref.port === undefined ? ports[0] : ports.find((p) => (typeof ref.port === "number" ? p.port === ref.port : p.name === ref.port));
    if (ports.length > 0 && !svcPort) return [];
    return (this.store.list(PODS, ref.namespace).items as Pod[])
      .filter(
        (p) =>
          matchesServiceSelector(svc.spec?.selector, p.metadata.labels) &&
          isPodReady(p) &&
          p.status?.podIP &&
          !p.metadata.deletionTimestamp,
      )
      .filter((p) => !svcPort || podPortFor(p, svcPort) !== undefined)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The next Ready pod behind the Service, or undefined when there is none. */
  pick(ref: ServiceRef): Pod | undefined {
    const pods = this.readyPods(ref);
    if (pods.length === 0) return undefined;
    const key = `${ref.namespace}/${ref.name}:${ref.port ?? ""}`;
    const i = (this.cursor.get(key) ?? 0) % pods.length;
    this.cursor.set(key, i + 1);
    return pods[i];
  }
}
