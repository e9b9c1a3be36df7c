/**
 * From a Service port to pods, as Endpoints define it (Kubernetes Service docs: a named targetPort is looked up
 * in each pod's container ports, so pods may serve it on different numbers, and a pod without the name is no
 * endpoint), and an Ingress/HTTPRoute backend names the Service port by number or name.
 */
import { describe, expect, it } from "vitest";
import { PODS, SERVICES } from "../../controllers/types.ts";
import { Backends } from "../../edge/backends.ts";
import { defaultResourceTypes } from "../../resources.ts";
import { Store } from "../../store.ts";

const pod = (name: string, ip: string, ports?: Array<{ name: string; containerPort: number; protocol?: string }>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", labels: { app: "web" } },
  spec: { containers: [{ name: "app", image: "web:1", ...(ports ? { ports } : {}) }] },
  status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
});

function cluster() {
  const s = new Store(defaultResourceTypes());
  s.create(PODS, pod("a-http", "10.244.0.1", [{ name: "http", containerPort: 8080 }]));
  s.create(
    PODS,
    pod("b-http-alt", "10.244.0.2", [
      { name: "http", containerPort: 9090 },
      { name: "metrics", containerPort: 9100 },
    ]),
  );
  s.create(PODS, pod("c-none", "10.244.0.3"));
  s.create(PODS, pod("d-udp", "10.244.0.4", [{ name: "http", containerPort: 8080, protocol: "UDP" }]));
  s.create(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: {
      selector: { app: "web" },
      ports: [
        { name: "web", port: 80, targetPort: "http", protocol: "TCP" },
        { name: "metrics", port: 9100, targetPort: "metrics", protocol: "TCP" },
        { name: "raw", port: 81, targetPort: 81, protocol: "TCP" },
      ],
    },
  });
  return new Backends(s);
}
const names = (b: Backends, port?: number | string) =>
  b.readyPods({ namespace: "default", name: "web", ...(port !== undefined ? { port } : {}) }).map((p) => p.metadata.name);

describe("Backends", () => {
  it("a named targetPort keeps only the pods declaring that name with the Service port's protocol", () => {
    const b = cluster();
    expect(names(b, 80)).toEqual(["a-http", "b-http-alt"]);
    expect(names(b, "web")).toEqual(["a-http", "b-http-alt"]);
    expect(names(b, "metrics")).toEqual(["b-http-alt"]);
    expect(names(b)).toEqual(["a-http", "b-http-alt"]); // no port named: the Service's first port
  });

  it("a numeric targetPort takes every selected pod; a port the Service does not have has none", () => {
    const b = cluster();
    expect(names(b, 81)).toEqual(["a-http", "b-http-alt", "c-none", "d-udp"]);
    expect(names(b, 8080)).toEqual([]);
    expect(b.pick({ namespace: "default", name: "web", port: "nope" })).toBeUndefined();
  });
});
