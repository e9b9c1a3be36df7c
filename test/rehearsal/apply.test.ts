/**
 * Server-side apply of the router's and the overlay's manifests, over TLS against a stand-in API server: the object
 * reaches the server exactly as the manifest has it (a CRD's x-kubernetes-* keys, defaults and enums included,
 * which client-node's typed serializer would drop), at the path discovery resolves, as the field manager, forcing
 * conflicts; Namespaces and CRDs go first and the rest waits for the CRDs to be established; a cluster still
 * settling is retried, a real refusal is not.
 */
import * as k8s from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { kubeFromConfig } from "#src/kube/client.ts";
import { applyManifests, parseManifests, serverSideApply, type Manifest } from "#src/rehearsal/apply.ts";
import { kubeApiRoute, reachKind } from "#src/rehearsal/kube-api.ts";
import {
  fakeApiServer,
  kindKubeconfig,
  kindNodes,
  kindPki,
  type FakeAnswer,
  type FakeApiServer,
  type FakeRequest,
} from "./support/fake-kind.ts";

const NAME = "release-gate-rehearsal";
let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const crd: Manifest = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "envoyproxies.gateway.envoyproxy.io" },
  spec: {
    group: "gateway.envoyproxy.io",
    names: { kind: "EnvoyProxy", plural: "envoyproxies" },
    scope: "Namespaced",
    versions: [
      {
        name: "v1alpha1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                "x-kubernetes-preserve-unknown-fields": true,
                properties: { logLevel: { type: "string", enum: ["debug", "info"], default: "info" } },
                "x-kubernetes-validations": [{ rule: "self.logLevel != ''", message: "set" }],
              },
            },
          },
        },
      },
    ],
  },
} as Manifest;

/** Discovery for the kinds these tests apply, and what `patch` answers to each PATCH. */
function apiServer(patch: (r: FakeRequest) => FakeAnswer = () => ({ status: 200, body: {} }), established = () => true) {
  const resources: Record<string, Array<{ name: string; kind: string; namespaced: boolean }>> = {
    "/api/v1": [
      { name: "namespaces", kind: "Namespace", namespaced: false },
      { name: "services", kind: "Service", namespaced: true },
    ],
    "/apis/apiextensions.k8s.io/v1": [{ name: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false }],
    "/apis/gateway.envoyproxy.io/v1alpha1": [{ name: "envoyproxies", kind: "EnvoyProxy", namespaced: true }],
  };
  const patches: FakeRequest[] = [];
  return {
    patches,
    handle: (r: FakeRequest): FakeAnswer => {
      if (r.method === "GET" && resources[r.path])
        return { status: 200, body: { kind: "APIResourceList", groupVersion: r.path, resources: resources[r.path] } };
      if (r.method === "GET" && r.path.startsWith("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/")) {
        return {
          status: 200,
          body: { ...crd, status: { conditions: [{ type: "Established", status: established() ? "True" : "False" }] } },
        };
      }
      if (r.method === "PATCH") {
        patches.push(r);
        return patch(r);
      }
      return undefined;
    },
  };
}

async function connect(handle: (r: FakeRequest) => FakeAnswer) {
  const pki = await kindPki();
  server = await fakeApiServer(pki, kindNodes(NAME), { handle });
  return kubeFromConfig(
    reachKind(kindKubeconfig(pki, NAME, server.port), kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` })),
    {
      retry: false,
    },
  );
}

describe("one server-side apply", () => {
  it("sends the manifest's own JSON, as the field manager, forcing conflicts, at the discovered path", async () => {
    const api = apiServer();
    const kube = await connect(api.handle);
    await serverSideApply(kube, crd, "release-gate-rehearsal");
    const [p] = api.patches;
    expect(p.path).toBe("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/envoyproxies.gateway.envoyproxy.io");
    expect(Object.fromEntries(p.query)).toEqual({ fieldManager: "release-gate-rehearsal", force: "true" });
    expect(p.headers["content-type"]).toBe("application/apply-patch+yaml");
    expect(JSON.parse(p.body)).toEqual(crd);
  });

  it("is needed: client-node's own KubernetesObjectApi.patch would have dropped the schema's x-kubernetes-* keys and default", async () => {
    const api = apiServer();
    const kube = await connect(api.handle);
    await kube.objects.patch(crd, undefined, undefined, "m", true, k8s.PatchStrategy.ServerSideApply);
    const sent = api.patches[0].body;
    expect(sent).not.toContain("x-kubernetes-preserve-unknown-fields");
    expect(sent).not.toContain('"default"');
    await serverSideApply(kube, crd, "m");
    expect(api.patches[1].body).toContain('"x-kubernetes-preserve-unknown-fields":true');
    expect(api.patches[1].body).toContain('"default":"info"');
  });

  it("puts a namespaced object in its namespace", async () => {
    const api = apiServer();
    const kube = await connect(api.handle);
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ingress-nginx-controller", namespace: "ingress-nginx" },
      spec: {},
    } as Manifest;
    await serverSideApply(kube, svc, "release-gate-rehearsal-edge");
    expect(api.patches[0].path).toBe("/api/v1/namespaces/ingress-nginx/services/ingress-nginx-controller");
  });
});

describe("applying a set of manifests", () => {
  const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "envoy-gateway-system" } } as Manifest;
  const proxy = {
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "EnvoyProxy",
    metadata: { name: "p", namespace: "envoy-gateway-system" },
  } as Manifest;

  it("applies Namespaces and CRDs first, the rest once the CRDs are established", async () => {
    const api = apiServer();
    const kube = await connect(api.handle);
    await applyManifests(kube, [proxy, crd, ns], { fieldManager: "m" });
    expect(api.patches.map((p) => p.path.split("/").at(-1))).toEqual(["envoyproxies.gateway.envoyproxy.io", "envoy-gateway-system", "p"]);
    const crdRead = server!.requests.findIndex((r) => r.startsWith("GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/"));
    const proxyPatch = server!.requests.findIndex((r) => r.startsWith("PATCH /apis/gateway.envoyproxy.io/"));
    expect(crdRead).toBeGreaterThan(-1);
    expect(proxyPatch).toBeGreaterThan(crdRead);
  });

  it("retries a write the cluster is still settling for (an admission webhook not answering yet)", async () => {
    let calls = 0;
    const api = apiServer(() =>
      ++calls === 1
        ? {
            status: 500,
            body: {
              kind: "Status",
              message: 'Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": connection refused',
            },
          }
        : { status: 200, body: {} },
    );
    const kube = await connect(api.handle);
    await applyManifests(kube, [ns], { fieldManager: "m" });
    expect(calls).toBe(2);
  });

  it("fails at once on a real refusal, naming the object and the API server's reason", async () => {
    const api = apiServer(() => ({
      status: 422,
      body: { kind: "Status", message: 'Service "x" is invalid: spec.ports[0].nodePort: Invalid value: 80' },
    }));
    const kube = await connect(api.handle);
    const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "x", namespace: "d" } } as Manifest;
    await expect(applyManifests(kube, [svc], { fieldManager: "m" })).rejects.toThrow(
      'applying Service d/x failed: HTTP 422: Service "x" is invalid: spec.ports[0].nodePort: Invalid value: 80',
    );
    expect(api.patches).toHaveLength(1);
  });
});

describe("parsing manifests", () => {
  it("reads every object of a multi-document text, skipping empty documents", () => {
    const objs = parseManifests(
      "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
      "x",
    );
    expect(objs.map((o) => o.metadata.name)).toEqual(["a", "b"]);
  });

  it("refuses a document that is not an object, naming it", () => {
    expect(() => parseManifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\njust: text\n", "router.yaml")).toThrow(
      "router.yaml: document 2 is not a Kubernetes object (apiVersion, kind and metadata.name)",
    );
  });
});
