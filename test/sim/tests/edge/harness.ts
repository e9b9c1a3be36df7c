/** Controllers plus the traffic edge on a random port, and a few manifests the edge tests share. */
import { Agent, request } from "undici";
import { DEPLOYMENTS, SERVICES, type Deployment } from "../../controllers/types.ts";
import { startEdge, type Edge } from "../../edge.ts";
import type { ScenarioInput } from "../../scenario.ts";
import type { KObject } from "../../store.ts";
import { deployment, startHarness, type Harness } from "../controllers/harness.ts";

export interface EdgeHarness extends Harness {
  edge: Edge;
  agent: Agent;
  close(): Promise<void>;
  /** Create a Deployment (+ Service of the same name) and wait until its pods are Available. */
  app(name: string, image: string, replicas?: number): Promise<void>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  /** Send n requests (16 at a time) and count responses by X-App-Version (or "<status>" when none). */
  sample(n: number, headers?: Record<string, string>): Promise<Map<string, number>>;
}

export async function startEdgeHarness(scenario: ScenarioInput = {}): Promise<EdgeHarness> {
  const h = startHarness(scenario) as EdgeHarness;
  h.edge = await startEdge(h.store, h.clock, {
    scenario: () => h.scenario,
    runningSince: (uid) => h.controllers.kubelet.runningSince(uid),
  });
  h.agent = new Agent({ connections: 16, pipelining: 1 });
  h.close = async () => {
    await h.agent.close();
    await h.edge.close();
    h.stop();
  };
  h.app = async (name, image, replicas = 2) => {
    h.store.create(DEPLOYMENTS, deployment(name, image, { replicas }));
    h.store.create(SERVICES, service(name));
    await h.until(
      () => (h.store.get(DEPLOYMENTS, "default", name) as Deployment).status?.availableReplicas === replicas,
      `${name} available`,
    );
  };
  h.get = async (path, headers = {}) => {
    const r = await request(h.edge.url + path, { dispatcher: h.agent, headers });
    const body = await r.body.text();
    const hs: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) hs[k] = Array.isArray(v) ? v.join(",") : String(v);
    return { status: r.statusCode, headers: hs, body };
  };
  h.sample = async (n, headers = {}) => {
    const counts = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const r = await h.get("/api/health", headers);
        const key = r.headers["x-app-version"] ?? `<${r.status}>`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return counts;
  };
  return h;
}

export function service(name: string): KObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

export function ingress(
  name: string,
  host: string | undefined,
  svc: string,
  annotations: Record<string, string> = {},
  path = "/",
  pathType = "Prefix",
): KObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "default", annotations },
    spec: {
      ingressClassName: "nginx",
      rules: [
        { ...(host ? { host } : {}), http: { paths: [{ path, pathType, backend: { service: { name: svc, port: { number: 80 } } } }] } },
      ],
    },
  };
}

/**
 * The band a binomial count falls in with overwhelming probability: n·p ± 4σ, σ = √(n·p·(1−p)).
 * A correct router lands outside it about once in 16,000 runs.
 */
export function fourSigma(n: number, p: number): [number, number] {
  const sigma = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - 4 * sigma), Math.ceil(n * p + 4 * sigma)];
}
