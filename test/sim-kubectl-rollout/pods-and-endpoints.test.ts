/**
 * What the REAL kubectl shows for pods and Endpoints. Expected outputs come from the documented Service
 * semantics (a named targetPort is resolved against each pod's container ports; a pod without that port is no
 * endpoint).
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlFor, type KubectlRunner } from "../helpers/kubectl.ts";
import { startSim, type Sim } from "../sim/index.ts";

let sim: Sim;
let k: KubectlRunner;

beforeAll(async () => {
  sim = await startSim({
    scenario: {
      timeScale: { msPerSecond: 10 },
      defaults: { pod: { kind: "ready", startSeconds: 1, readyAfterSeconds: 1 } },
      edge: { defaultHost: "app.example" },
    },
  });
  k = await kubectlFor(sim.kubeconfigPath);
});
afterAll(async () => {
  await k?.dispose();
  await sim?.stop();
});

async function apply(yaml: string) {
  const r = await k.run(["apply", "-f", "-"], { input: yaml });
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const deployment = (name: string, image: string, labels: string, ports = "") => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 1
  selector: { matchLabels: { ${labels} } }
  template:
    metadata: { labels: { ${labels} } }
    spec: { containers: [{ name: app, image: "${image}"${ports} }] }
`;

describe("a Service with a named targetPort", () => {
  it("Endpoints list the container port the name resolves to, and only pods that declare it; the edge routes to those", async () => {
    await apply(deployment("named", "registry.local/web:1.0.0", "app: web, variant: named", ", ports: [{ name: http, containerPort: 8080 }]"));
    await apply(deployment("unnamed", "registry.local/web:1.0.0", "app: web, variant: unnamed"));
    await apply(`apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: web, port: 80, targetPort: http }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules: [{ host: app.example, http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] } }]
`);
    for (const d of ["named", "unnamed"]) expect((await k.run(["rollout", "status", `deployment/${d}`, "--timeout=60s"])).exitCode).toBe(0);
    const jsonpath = async (path: string) => (await k.run(["get", "endpoints", "web", "-o", `jsonpath=${path}`])).stdout;
    await until("the Endpoints to list the Ready pod", async () => ((await jsonpath("{.subsets[*].addresses[*].targetRef.name}")) ? true : undefined));
    expect(await jsonpath("{.subsets[*].ports[*].port}")).toBe("8080");
    expect(await jsonpath("{.subsets[*].ports[*].name}")).toBe("web");
    const names = (await jsonpath("{.subsets[*].addresses[*].targetRef.name} {.subsets[*].notReadyAddresses[*].targetRef.name}")).trim().split(/\s+/);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^named-/);

    for (let i = 0; i < 6; i++) {
      const r = await request(sim.edgeUrl + "/api/health");
      await r.body.text();
      expect(r.statusCode).toBe(200);
      expect(r.headers["x-pod-name"]).toMatch(/^named-/);
    }
  });
});
