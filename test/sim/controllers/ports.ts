/**
 * Service port → pod port, as Kubernetes resolves it for Endpoints/EndpointSlices (and kube-proxy, ingress
 * controllers and Gateway implementations, which read those): a numeric `targetPort` is used as is; a named one is
 * looked up among the pod's containers' ports by name and protocol, and a pod without such a port is not an
 * endpoint for that Service port. (API defaulting sets `targetPort` to `port` and `protocol` to TCP.)
 */
import type { Pod } from "./types.ts";

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

interface ContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
}

/** The pod's port for this Service port, or undefined when a named targetPort is not declared by the pod. */
export function podPortFor(pod: Pod, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === "number") return target;
  const protocol = svcPort.protocol ?? "TCP";
  for (const c of pod.spec.containers ?? []) {
    for (const p of (Array.isArray(c.ports) ? c.ports : []) as ContainerPort[]) {
      if (p.name === target && (p.protocol ?? "TCP") === protocol && typeof p.containerPort === "number") return p.containerPort;
    }
  }
  return undefined;
}
