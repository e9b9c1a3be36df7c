/**
 * Round trips through @kubernetes/client-node 2.x, the client the pipeline uses: typed Core/Apps calls,
 * every patch strategy through its PatchStrategy header option, subresources, CustomObjectsApi for
 * HTTPRoutes, optimistic concurrency, and Watch (ADDED/MODIFIED/DELETED, resuming from a resourceVersion).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import { startApiFixture, type ApiFixture } from "./fixture.ts";

let api: ApiFixture;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;
const ns = "client";

beforeAll(async () => {
  api = await startApiFixture({ kubectl: false });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(api.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => api?.close());

const withType = (t: k8s.PatchStrategy) => k8s.setHeaderOptions("Content-Type", t);

function deployment(name: string, image = "app:1"): k8s.V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
    },
  };
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: { reason?: string; message?: string } }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof k8s.ApiException) return { code: e.code, body: typeof e.body === "string" ? JSON.parse(e.body) : e.body };
    throw e;
  }
  throw new Error("expected the call to fail");
}

describe("CoreV1Api", () => {
  it("creates, reads, lists by label and deletes ConfigMaps", async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "a", labels: { role: "record" } }, data: { k: "1" } },
    });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "b" }, data: { k: "2" } } });
    expect((await core.readNamespacedConfigMap({ name: "a", namespace: ns })).data).toEqual({ k: "1" });
    const listed = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: "role=record" });
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(["a"]);
    expect(listed.metadata?.resourceVersion).toMatch(/^\d+$/);
    const status = await core.deleteNamespacedConfigMap({ name: "b", namespace: ns });
    expect(status.status).toBe("Success");
    const gone = await apiError(core.readNamespacedConfigMap({ name: "b", namespace: ns }));
    expect(gone.code).toBe(404);
    expect(gone.body.reason).toBe("NotFound");
    expect(gone.body.message).toBe('configmaps "b" not found');
  });

  it("a ConfigMap holds at most 1 MiB of data, counted in UTF-8 bytes: more is 422 Invalid, as the real server says", async () => {
    const body = (value: string): k8s.V1ConfigMap => ({ metadata: { name: "big" }, data: { a: value } });
    const full = "x".repeat(1024 * 1024);
    await core.createNamespacedConfigMap({ namespace: ns, body: body(full) });
    const tooBig = await apiError(core.replaceNamespacedConfigMap({ name: "big", namespace: ns, body: body(`${full.slice(1)}é`) }));
    expect(tooBig.code).toBe(422);
    expect(tooBig.body.message).toBe('ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes');
    await core.deleteNamespacedConfigMap({ name: "big", namespace: ns });
  });

  it("generateName gives a created object a unique name", async () => {
    const a = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: "release-" } } });
    const b = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: "release-" } } });
    expect(a.metadata?.name).toMatch(/^release-[a-z0-9]{5}$/);
    expect(b.metadata?.name).not.toBe(a.metadata?.name);
  });
});

describe("AppsV1Api", () => {
  it("read and replace; a stale resourceVersion is a 409 Conflict", async () => {
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: deployment("web") });
    expect(created.metadata?.generation).toBe(1);
    const read = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
    read.spec!.template.spec!.containers[0]!.image = "app:2";
    const replaced = await apps.replaceNamespacedDeployment({ name: "web", namespace: ns, body: read });
    expect(replaced.metadata?.generation).toBe(2);
    expect(replaced.metadata?.resourceVersion).not.toBe(read.metadata?.resourceVersion);

    const stale = await apiError(apps.replaceNamespacedDeployment({ name: "web", namespace: ns, body: read }));
    expect(stale.code).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it("patches with each PatchStrategy", async () => {
    await apps.patchNamespacedDeployment(
      { name: "web", namespace: ns, body: [{ op: "replace", path: "/spec/replicas", value: 3 }] },
      withType(k8s.PatchStrategy.JsonPatch),
    );
    await apps.patchNamespacedDeployment(
      { name: "web", namespace: ns, body: { metadata: { labels: { track: "stable" } } } },
      withType(k8s.PatchStrategy.MergePatch),
    );
    await apps.patchNamespacedDeployment(
      { name: "web", namespace: ns, body: { spec: { template: { spec: { containers: [{ name: "proxy", image: "envoy:1" }] } } } } },
      withType(k8s.PatchStrategy.StrategicMergePatch),
    );
    const applied = await apps.patchNamespacedDeployment(
      {
        name: "web",
        namespace: ns,
        fieldManager: "release-gate",
        force: true,
        body: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", annotations: { "release-gate/phase": "canary" } } },
      },
      withType(k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.spec?.replicas).toBe(3);
    expect(applied.metadata?.labels).toEqual({ app: "web", track: "stable" });
    expect(applied.spec?.template.spec?.containers.map((c) => c.name)).toEqual(["app", "proxy"]);
    expect(applied.metadata?.annotations?.["release-gate/phase"]).toBe("canary");
    const entry = applied.metadata?.managedFields?.find((m) => m.manager === "release-gate");
    expect(entry?.operation).toBe("Apply");
  });

  it("server-side apply conflicts name the owning manager and field in details.causes", async () => {
    const e = await apiError(
      apps.patchNamespacedDeployment(
        {
          name: "web",
          namespace: ns,
          fieldManager: "other-tool",
          body: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", annotations: { "release-gate/phase": "done" } } },
        },
        withType(k8s.PatchStrategy.ServerSideApply),
      ),
    );
    expect(e.code).toBe(409);
    expect(e.body.reason).toBe("Conflict");
    expect(e.body.message).toBe('Apply failed with 1 conflict: conflict with "release-gate": .metadata.annotations.release-gate/phase');
    expect((e.body as { details?: { causes?: unknown[] } }).details?.causes).toEqual([
      { reason: "FieldManagerConflict", message: 'conflict with "release-gate"', field: ".metadata.annotations.release-gate/phase" },
    ]);
  });

  it("scale subresource: read and replace autoscaling/v1 Scale", async () => {
    const scale = await apps.readNamespacedDeploymentScale({ name: "web", namespace: ns });
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe("app=web");
    scale.spec!.replicas = 1;
    await apps.replaceNamespacedDeploymentScale({ name: "web", namespace: ns, body: scale });
    expect((await apps.readNamespacedDeployment({ name: "web", namespace: ns })).spec?.replicas).toBe(1);
  });

  it("status subresource: /status writes only status; the main resource ignores status", async () => {
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
    const generation = d.metadata?.generation;
    d.status = { observedGeneration: generation, replicas: 1, readyReplicas: 1 };
    d.spec!.replicas = 9; // ignored by /status
    const s = await apps.replaceNamespacedDeploymentStatus({ name: "web", namespace: ns, body: d });
    expect(s.status?.readyReplicas).toBe(1);
    expect(s.spec?.replicas).toBe(1);
    expect(s.metadata?.generation).toBe(generation);

    const m = await apps.patchNamespacedDeployment(
      { name: "web", namespace: ns, body: { status: { readyReplicas: 7 }, spec: { replicas: 2 } } },
      withType(k8s.PatchStrategy.MergePatch),
    );
    expect(m.status?.readyReplicas).toBe(1);
    expect(m.spec?.replicas).toBe(2);
  });
});

describe("CustomObjectsApi (HTTPRoute)", () => {
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "web" },
    spec: {
      parentRefs: [{ name: "public" }],
      rules: [
        {
          backendRefs: [
            { name: "web", port: 80, weight: 100 },
            { name: "web-canary", port: 80, weight: 0 },
          ],
        },
      ],
    },
  };
  const ref = { group: "gateway.networking.k8s.io", version: "v1", namespace: ns, plural: "httproutes", name: "web" };

  it("creates, reads and re-weights a route with a merge patch", async () => {
    await custom.createNamespacedCustomObject({ group: ref.group, version: ref.version, namespace: ns, plural: ref.plural, body: route });
    const patch = {
      spec: {
        rules: [
          {
            backendRefs: [
              { name: "web", port: 80, weight: 90 },
              { name: "web-canary", port: 80, weight: 10 },
            ],
          },
        ],
      },
    };
    await custom.patchNamespacedCustomObject({ ...ref, body: patch }, withType(k8s.PatchStrategy.MergePatch));
    const got = (await custom.getNamespacedCustomObject(ref)) as typeof route;
    expect(got.spec.rules[0]!.backendRefs.map((b) => b.weight)).toEqual([90, 10]);
  });

  it("refuses strategic merge patch for a custom resource with 415, as the real server does", async () => {
    const e = await apiError(
      custom.patchNamespacedCustomObject({ ...ref, body: { spec: {} } }, withType(k8s.PatchStrategy.StrategicMergePatch)),
    );
    expect(e.code).toBe(415);
    expect(e.body.reason).toBe("UnsupportedMediaType");
  });
});

describe("Watch", () => {
  type Seen = { type: string; name: string; rv: string };

  function startWatch(path: string, query: Record<string, string | boolean>, seen: Seen[]) {
    let resolveDone!: (err: unknown) => void;
    const done = new Promise<unknown>((r) => (resolveDone = r));
    const controller = new k8s.Watch(kc).watch(
      path,
      query,
      (type, obj: k8s.KubernetesObject) => seen.push({ type, name: obj.metadata?.name ?? "", rv: obj.metadata?.resourceVersion ?? "" }),
      (err) => resolveDone(err),
    );
    return { controller, done };
  }

  async function until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise((r) => setImmediate(r));
  }

  it("receives ADDED, MODIFIED, DELETED and resumes from a resourceVersion", async () => {
    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const list = await apps.listNamespacedDeployment({ namespace: ns });
    const seen: Seen[] = [];
    const w = startWatch(path, { resourceVersion: list.metadata!.resourceVersion!, labelSelector: "app=watched" }, seen);
    const controller = await w.controller;
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment("watched") });
    await apps.patchNamespacedDeployment(
      { name: "watched", namespace: ns, body: { spec: { replicas: 4 } } },
      withType(k8s.PatchStrategy.MergePatch),
    );
    await until(() => seen.length >= 2);
    controller.abort();
    await w.done;
    expect(seen.map((s) => s.type)).toEqual(["ADDED", "MODIFIED"]);

    // Changes made while no one watches are delivered on resume from the last resourceVersion seen.
    await apps.deleteNamespacedDeployment({ name: "watched", namespace: ns });
    const resumed: Seen[] = [];
    const w2 = startWatch(path, { resourceVersion: seen[1]!.rv, labelSelector: "app=watched" }, resumed);
    const c2 = await w2.controller;
    await until(() => resumed.length >= 1);
    c2.abort();
    await w2.done;
    expect(resumed.map((s) => [s.type, s.name])).toEqual([["DELETED", "watched"]]);
  });

  it("without a resourceVersion, starts with the current objects as ADDED", async () => {
    const seen: Seen[] = [];
    const w = startWatch(`/api/v1/namespaces/${ns}/configmaps`, { labelSelector: "role=record" }, seen);
    const c = await w.controller;
    await until(() => seen.length >= 1);
    c.abort();
    await w.done;
    expect(seen).toEqual([expect.objectContaining({ type: "ADDED", name: "a" })]);
  });
});
