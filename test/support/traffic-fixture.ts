/**
 * A QualiSys-like production in the simulator for the router and health tests: two services (api, web), each
 * with a stable Deployment (3 × 1.0.0), a canary Deployment (0 × 2.0.0), a stable, a canary and an all-pods
 * Service; one main Ingress with a host per service; one HTTPRoute per service (stable backend only) attached
 * to a Gateway. Built from objects directly (the manifests' own fidelity is proven with kubectl elsewhere).
 */
import type { EventEmitter } from "node:events";
import { startSim, type Sim, type ScenarioInput } from "../sim/index.ts";
import type { KObject } from "../sim/store.ts";
import { kubeFromConfig, type Kube } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import { waitAvailable } from "#src/health/index.ts";
import type { RouterKind, ServiceRoute, TrafficRouter } from "#src/traffic/router.ts";
import { routerType } from "#src/traffic/routing.ts";

export const NS = "production";
export const DEPLOYMENTS = "apps/v1/deployments";
export const SERVICES = "/v1/services";
export const INGRESSES = "networking.k8s.io/v1/ingresses";
export const HTTPROUTES = "gateway.networking.k8s.io/v1/httproutes";
export const SVCS = ["qualisys-api", "qualisys-web"] as const;
export const HOST: Record<string, string> = { "qualisys-api": "api.qualisys.io", "qualisys-web": "app.qualisys.io" };
export const STABLE_VERSION = "1.0.0";
/** Health limits for waiting in fixtures: restarts are the test's business, not the fixture's. */
export const WAIT_LIMITS = { maxRestarts: 100, notReadyGraceMs: 60_000 };
export const CANARY_VERSION = "2.0.0";

const deployment = (name: string, app: string, track: string, replicas: number, tag: string): KObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: NS, labels: { app, track } },
  spec: {
    replicas,
    selector: { matchLabels: { app, track } },
    template: { metadata: { labels: { app, track } }, spec: { containers: [{ name: "app", image: `ghcr.io/qualisys/${app}:${tag}` }] } },
  },
});
const service = (name: string, selector: Record<string, string>): KObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS },
  spec: { selector, ports: [{ name: "http", port: 3000, targetPort: 3000 }] },
});

export function productionObjects(): KObject[] {
  const objects: KObject[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "production-gateway", namespace: NS },
      spec: { gatewayClassName: "sim", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
  ];
  for (const app of SVCS) {
    objects.push(
      deployment(`${app}-stable`, app, "stable", 3, STABLE_VERSION),
      deployment(`${app}-canary`, app, "canary", 0, CANARY_VERSION),
      service(`${app}-stable`, { app, track: "stable" }),
      service(`${app}-canary`, { app, track: "canary" }),
      service(app, { app }),
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: app, namespace: NS },
        spec: {
          parentRefs: [{ name: "production-gateway" }],
          hostnames: [HOST[app]],
          rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: `${app}-stable`, port: 3000 }] }],
        },
      },
    );
  }
  objects.push({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "production-ingress", namespace: NS, annotations: { "nginx.ingress.kubernetes.io/proxy-body-size": "50m" } },
    spec: {
      ingressClassName: "nginx",
      tls: [{ hosts: Object.values(HOST), secretName: "production-tls" }],
      rules: SVCS.map((app) => ({
        host: HOST[app],
        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: `${app}-stable`, port: { number: 3000 } } } }] },
      })),
    },
  });
  return objects;
}

export interface TrafficSim {
  sim: Sim;
  kube: Kube;
  stop(): Promise<void>;
  /** Scale a Deployment through the API and wait until its pods are Available. */
  scale(name: string, replicas: number): Promise<void>;
  /** Requests that could change the cluster (create, update, patch, delete) served so far. */
  writes(): number;
  /** Every Ingress, HTTPRoute, Service and Deployment spec in the namespace, for before/after comparisons. */
  snapshot(): string;
  /** Listeners on the store (one per open watch, plus the controllers'): to prove watches are closed. */
  storeListeners(): number;
}

export async function startTrafficSim(controller: "ingress-nginx" | "gateway-api", scenario: ScenarioInput = {}): Promise<TrafficSim> {
  const sim = await startSim({
    scenario: {
      timeScale: { msPerSecond: 10 },
      defaults: { pod: { kind: "ready", startSeconds: 1, readyAfterSeconds: 1 } },
      ...scenario,
      edge: { controller },
      objects: [...productionObjects(), ...(scenario.objects ?? [])],
    },
  });
  const kube = kubeFromConfig(loadKubeConfig({ path: sim.kubeconfigPath }), {
    retry: { minTimeoutMs: 20, maxTimeoutMs: 200, maxRetryAfterMs: 300 },
  });
  const t: TrafficSim = {
    sim,
    kube,
    stop: () => sim.stop(),
    async scale(name, replicas) {
      await kube.apps.patchNamespacedDeploymentScale({
        name,
        namespace: NS,
        body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
      });
      await waitAvailable({ kube, namespace: NS, deployment: name, replicas, timeoutMs: 20_000, limits: WAIT_LIMITS });
    },
    writes() {
      const v = sim.faults.requests().byVerb;
      return (v.create ?? 0) + (v.update ?? 0) + (v.patch ?? 0) + (v.delete ?? 0) + (v.deletecollection ?? 0);
    },
    snapshot() {
      const pick = (typeKey: string) => sim.store.list(typeKey, NS).items;
      return JSON.stringify({
        ingresses: pick(INGRESSES),
        httproutes: pick(HTTPROUTES),
        services: pick(SERVICES),
        deployments: pick(DEPLOYMENTS).map((d) => ({ name: d.metadata.name, generation: d.metadata.generation, spec: d.spec })),
      });
    },
    storeListeners: () => (sim.store as unknown as { emitter: EventEmitter }).emitter.listenerCount("event"),
  };
  await Promise.all(
    SVCS.map((app) =>
      waitAvailable({ kube, namespace: NS, deployment: `${app}-stable`, replicas: 3, timeoutMs: 20_000, limits: WAIT_LIMITS }),
    ),
  );
  return t;
}

export const serviceRoutes = (apps: readonly string[] = SVCS) =>
  apps.map((app) => ({
    name: app,
    stableDeployment: `${app}-stable`,
    canaryDeployment: `${app}-canary`,
    stableService: `${app}-stable`,
    canaryService: `${app}-canary`,
    ingress: "production-ingress",
    httpRoute: app,
  }));

/** The routers release.yaml's router `kind` builds for `services` (one per route object), header X-Canary: always. */
export function buildRouters(kube: Kube, kind: RouterKind, services: ServiceRoute[]): TrafficRouter[] {
  return routerType(kind).build(kube, { namespace: NS, canaryHeader: { name: "X-Canary", value: "always" }, services });
}
