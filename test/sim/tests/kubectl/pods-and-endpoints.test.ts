/**
 * What the REAL kubectl shows for pods and Endpoints. Expected outputs come from upstream's printPod
 * (pkg/printers/internalversion/printers.go: RESTARTS "<n> (<age> ago)" once a container has a last termination;
 * -o wide adds IP, NODE, NOMINATED NODE, READINESS GATES) and from the documented Service semantics (a named
 * targetPort is resolved against each pod's container ports; a pod without that port is no endpoint).
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlFor, type KubectlRunner } from "../../../support/kubectl.ts";
import { startSim, type Sim } from "../../index.ts";

let sim: Sim;
let k: KubectlRunner;

beforeAll(async () => {
  sim = await startSim({
    scenario: {
      timeScale: { msPerSecond: 10 },
      defaults: { pod: { kind: "ready", startSeconds: 1, readyAfterSeconds: 1 } },
      images: [{ tag: "*-crash", pod: { kind: "crashLoop", crashAfterSeconds: 1 } }],
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

describe("kubectl get pods", () => {
  it("RESTARTS shows the count and how long ago the last restart was; -o wide adds NOMINATED NODE and READINESS GATES", async () => {
    await apply(deployment("crashy", "registry.local/web:1.0.0-crash", "app: crashy"));
    const json = async () =>
      JSON.parse((await k.run(["get", "pods", "-l", "app=crashy", "-o", "json"])).stdout).items[0]?.status?.containerStatuses?.[0]
        ?.restartCount as number | undefined;
    // A stable restart count around one table read, so the table's count can be compared with the API's.
    const [count, row] = await until("a crash-looping pod with a stable restart count", async () => {
      const before = await json();
      if (!before) return undefined;
      const table = (await k.run(["get", "pods", "-l", "app=crashy", "--no-headers"])).stdout.trim();
      const after = await json();
      return before === after ? ([before, table] as const) : undefined;
    });
    expect(count).toBeGreaterThanOrEqual(1);
    const cells = row.split(/\s{2,}/);
    expect(cells[0]).toMatch(/^crashy-/);
    expect(cells[1]).toBe("0/1");
    expect(cells[3]).toMatch(new RegExp(`^${count} \\(\\d+(?:[smhdy]\\d*)+ ago\\)$`));

    const wide = (await k.run(["get", "pods", "-l", "app=crashy", "-o", "wide"])).stdout.split("\n");
    expect(wide[0]!.split(/\s{2,}/)).toEqual([
      "NAME",
      "READY",
      "STATUS",
      "RESTARTS",
      "AGE",
      "IP",
      "NODE",
      "NOMINATED NODE",
      "READINESS GATES",
    ]);
    const wideCells = wide[1]!.split(/\s{2,}/);
    expect(wideCells[5]).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(wideCells.slice(6)).toEqual(["sim-node-1", "<none>", "<none>"]);
  });

  it("RESTARTS is the bare count while no container has restarted", async () => {
    await apply(deployment("steady", "registry.local/web:1.0.0", "app: steady"));
    expect((await k.run(["rollout", "status", "deployment/steady", "--timeout=60s"])).exitCode).toBe(0);
    const cells = (await k.run(["get", "pods", "-l", "app=steady", "--no-headers"])).stdout.trim().split(/\s{2,}/);
    expect(cells.slice(1, 4)).toEqual(["1/1", "Running", "0"]);
  });
});

describe("a Service with a named targetPort", () => {
  it("Endpoints list the container port the name resolves to, and only pods that declare it; the edge routes to those", async () => {
    await apply(
      deployment("named", "registry.local/web:1.0.0", "app: web, variant: named", ", ports: [{ name: http, containerPort: 8080 }]"),
    );
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
    await until("the Endpoints to list the Ready pod", async () =>
      (await jsonpath("{.subsets[*].addresses[*].targetRef.name}")) ? true : undefined,
    );
    expect(await jsonpath("{.subsets[*].ports[*].port}")).toBe("8080");
    expect(await jsonpath("{.subsets[*].ports[*].name}")).toBe("web");
    const names = (await jsonpath("{.subsets[*].addresses[*].targetRef.name} {.subsets[*].notReadyAddresses[*].targetRef.name}"))
      .trim()
      .split(/\s+/);
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
