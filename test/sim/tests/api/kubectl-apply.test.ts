/**
 * The real kubectl against the simulated API server: client-side apply (strategic merge patches computed by
 * kubectl from last-applied), server-side apply with field-manager conflicts, and kustomize. Expected outputs
 * are kubectl's own messages and Kubernetes' documented apply semantics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fileURLToPath } from "node:url";
import { startApiFixture, type ApiFixture } from "./fixture.ts";

let api: ApiFixture;
beforeAll(async () => {
  api = await startApiFixture();
});
afterAll(async () => api?.close());

const kubectl = (...args: string[]) => api.kubectl.run(args);
const applyStdin = (yaml: string, ...args: string[]) => api.kubectl.run(["apply", "-f", "-", ...args], { input: yaml });

function deployment(opts: { name: string; image: string; replicas?: number; env?: Record<string, string>; ns?: string }): string {
  const env = Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value }));
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: opts.name, ...(opts.ns ? { namespace: opts.ns } : {}), labels: { app: opts.name, tier: "frontend" } },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { app: opts.name } },
      template: {
        metadata: { labels: { app: opts.name } },
        spec: { containers: [{ name: "app", image: opts.image, ports: [{ containerPort: 8080 }], ...(env.length ? { env } : {}) }] },
      },
    },
  });
}

const ORDINARY = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.27", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {LOG_LEVEL: info}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: public}]
  rules:
  - backendRefs: [{name: web, port: 80, weight: 100}]
`;

describe("kubectl apply (client-side)", () => {
  it("creates ordinary manifests, then reports them unchanged on re-apply", async () => {
    const first = await applyStdin(ORDINARY);
    expect(first.stderr).toBe("");
    expect(first.exitCode).toBe(0);
    expect(first.stdout.split("\n")).toEqual([
      "namespace/shop created",
      "deployment.apps/web created",
      "service/web created",
      "configmap/web-config created",
      "ingress.networking.k8s.io/web created",
      "httproute.gateway.networking.k8s.io/web created",
    ]);
    const again = await applyStdin(ORDINARY);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split("\n")).toEqual([
      "namespace/shop unchanged",
      "deployment.apps/web unchanged",
      "service/web unchanged",
      "configmap/web-config unchanged",
      "ingress.networking.k8s.io/web unchanged",
      "httproute.gateway.networking.k8s.io/web unchanged",
    ]);
  });

  it("three-way merge: a changed manifest updates, a field dropped from it is removed, and fields set by others survive", async () => {
    expect((await applyStdin(deployment({ name: "api", image: "api:1", env: { A: "1", B: "2" } }))).stdout).toBe(
      "deployment.apps/api created",
    );
    // Someone else adds an annotation and a second container: not in the manifest, so apply must keep them.
    expect((await kubectl("annotate", "deployment", "api", "owner=sre")).stdout).toBe("deployment.apps/api annotated");
    expect(
      (
        await kubectl(
          "patch",
          "deployment",
          "api",
          "--type=strategic",
          "-p",
          JSON.stringify({ spec: { template: { spec: { containers: [{ name: "sidecar", image: "proxy:1" }] } } } }),
        )
      ).stdout,
    ).toBe("deployment.apps/api patched");

    const r = await applyStdin(deployment({ name: "api", image: "api:2", env: { A: "1" } }));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("deployment.apps/api configured");
    const live = JSON.parse((await kubectl("get", "deployment", "api", "-o", "json")).stdout);
    const containers = live.spec.template.spec.containers;
    expect(containers.map((c: { name: string }) => c.name).sort()).toEqual(["app", "sidecar"]);
    const app = containers.find((c: { name: string }) => c.name === "app");
    expect(app.image).toBe("api:2");
    expect(app.env).toEqual([{ name: "A", value: "1" }]);
    expect(live.metadata.annotations.owner).toBe("sre");
    expect(live.metadata.generation).toBeGreaterThan(1);
  });

  it("apply with --dry-run=server changes nothing", async () => {
    const r = await applyStdin(deployment({ name: "api", image: "api:3" }), "--dry-run=server");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("deployment.apps/api configured (server dry run)");
    const live = JSON.parse((await kubectl("get", "deployment", "api", "-o", "json")).stdout);
    expect(live.spec.template.spec.containers.find((c: { name: string }) => c.name === "app").image).toBe("api:2");
  });
});

describe("kubectl apply --server-side", () => {
  const manifest = (replicas: number, image = "ssa:1") => deployment({ name: "ssa", image, replicas });

  it("creates, re-applies, and records the applier in managedFields", async () => {
    const r = await applyStdin(manifest(2), "--server-side");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("deployment.apps/ssa serverside-applied");
    expect((await applyStdin(manifest(2), "--server-side")).stdout).toBe("deployment.apps/ssa serverside-applied");
    const live = JSON.parse((await kubectl("get", "deployment", "ssa", "-o", "json", "--show-managed-fields")).stdout);
    const entry = live.metadata.managedFields.find((m: { manager: string }) => m.manager === "kubectl");
    expect(entry.operation).toBe("Apply");
    expect(entry.fieldsType).toBe("FieldsV1");
    expect(entry.fieldsV1["f:spec"]["f:replicas"]).toEqual({});
    expect(entry.fieldsV1["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']).toMatchObject({ ".": {}, "f:image": {} });
  });

  it("a second manager changing an owned field conflicts; --force-conflicts takes ownership", async () => {
    const other = JSON.stringify({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "ssa" }, spec: { replicas: 5 } });
    const conflict = await applyStdin(other, "--server-side", "--field-manager=autoscaler-bot");
    expect(conflict.exitCode).toBe(1);
    expect(conflict.stderr).toContain('error: Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    expect(conflict.stderr).toContain("--force-conflicts");
    expect(JSON.parse((await kubectl("get", "deployment", "ssa", "-o", "json")).stdout).spec.replicas).toBe(2);

    const forced = await applyStdin(other, "--server-side", "--field-manager=autoscaler-bot", "--force-conflicts");
    expect(forced.exitCode).toBe(0);
    const live = JSON.parse((await kubectl("get", "deployment", "ssa", "-o", "json", "--show-managed-fields")).stdout);
    expect(live.spec.replicas).toBe(5);
    const owners = (path: string) =>
      live.metadata.managedFields
        .filter((m: { fieldsV1: Record<string, Record<string, unknown>> }) => path in (m.fieldsV1["f:spec"] ?? {}))
        .map((m: { manager: string }) => m.manager);
    expect(owners("f:replicas")).toEqual(["autoscaler-bot"]);
    // The original applier keeps everything else, e.g. the template.
    expect(owners("f:template")).toContain("kubectl");
  });

  it("applying the same value as another manager shares ownership without conflict", async () => {
    const same = JSON.stringify({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "ssa" }, spec: { replicas: 5 } });
    const r = await applyStdin(same, "--server-side", "--field-manager=capacity-planner");
    expect(r.exitCode).toBe(0);
  });

  it("a field dropped from the applier's manifest is removed when no one else owns it", async () => {
    const withLabel = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ssa-cm", labels: { a: "1", b: "2" } },
      data: { k: "v", old: "x" },
    });
    const without = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ssa-cm", labels: { a: "1" } },
      data: { k: "v" },
    });
    expect((await applyStdin(withLabel, "--server-side")).exitCode).toBe(0);
    expect((await applyStdin(without, "--server-side")).exitCode).toBe(0);
    const live = JSON.parse((await kubectl("get", "configmap", "ssa-cm", "-o", "json")).stdout);
    expect(live.metadata.labels).toEqual({ a: "1" });
    expect(live.data).toEqual({ k: "v" });
  });
});

describe("kubectl apply -k kubernetes/production", () => {
  it("applies the production kustomization (and its Gateway API routes) and reads it back", async () => {
    const dir = fileURLToPath(new URL("../../../../kubernetes/production", import.meta.url));
    const r = await kubectl("apply", "-k", dir);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^namespace\/production created$/m);
    const routes = await kubectl("apply", "-k", `${dir}/gateway-api`);
    expect(routes.stderr).toBe("");
    expect(routes.exitCode).toBe(0);
    const again = await kubectl("apply", "-k", dir);
    // kubectl re-sends a PodDisruptionBudget's selector (patchStrategy "replace") on every client-side apply, so it
    // reports them "configured" against a real server too; everything else is unchanged.
    expect(
      again.stdout.split("\n").filter((l) => !l.endsWith(" unchanged") && !/^poddisruptionbudget\.policy\/\S+ configured$/.test(l)),
    ).toEqual([]);
    // Moving the same manifests to server-side apply: same values, so no conflicts with the client-side owner.
    const ssa = await kubectl("apply", "--server-side", "-k", dir);
    expect(ssa.stderr).toBe("");
    expect(ssa.exitCode).toBe(0);
    expect(ssa.stdout.split("\n").every((l) => l.endsWith(" serverside-applied"))).toBe(true);
    const deployments = parse((await kubectl("get", "deployments", "-n", "production", "-o", "yaml")).stdout);
    expect(deployments.kind).toBe("List");
    expect(deployments.items.length).toBeGreaterThanOrEqual(2);
  });
});
