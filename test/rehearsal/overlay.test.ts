/**
 * kubernetes/local: the overlays of kubernetes/production the rehearsal applies, rendered by the real kubectl
 * (`kubectl kustomize`, the kustomize users run), and held to what the rehearsal needs: only kinds a bare kind
 * cluster with that router serves, the demo app image it loads into kind and never pulls, small replicas, hosts
 * under .localhost matching the release.yaml it derives, plain HTTP, and the routers' local files putting the edge
 * on the NodePort kind.yaml maps.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { parse, parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { EDGE_NODE_PORT } from "#src/rehearsal/kind-config.ts";
import { rehearsalReleaseConfig, ROUTERS, type RehearsalRouter } from "#src/rehearsal/release-config.ts";
import { DEMO_IMAGE_REPOSITORY, STABLE_VERSION } from "#src/rehearsal/demo-versions.ts";
import { ROUTER_INSTALLS } from "#src/rehearsal/routers.ts";
import { DEMO_APP_PORT } from "#src/rehearsal/images.ts";
import { admitsFromNamespace } from "../kubernetes/network-policy.ts";
import { resolveKubectl } from "../support/kubectl.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (p: string) => readFileSync(`${ROOT}${p}`, "utf8");
type K = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: any;
};

async function render(dir: string): Promise<K[]> {
  const kubectl = await resolveKubectl();
  const r = await execa(kubectl.path, ["kustomize", `${ROOT}${dir}`], { reject: false, env: { KUBECONFIG: "/dev/null" } });
  expect(r.exitCode, r.stderr).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K);
}

/**
 * The API groups whose CRDs each router's install manifest (ROUTER_INSTALLS) brings to the kind cluster: ingress-nginx's
 * provider/baremetal deploy.yaml installs none; Envoy Gateway's install.yaml installs Gateway API's and its own.
 * Nothing else is installed (no cert-manager), so any other custom kind stops `kubectl apply` with "no matches for
 * kind".
 */
const CRD_GROUPS: Record<RehearsalRouter, string[]> = {
  "ingress-nginx": [],
  "gateway-api": ["gateway.networking.k8s.io", "gateway.envoyproxy.io"],
};

/** `group/version` of every API Kubernetes itself serves, as kubernetes-models (generated from its OpenAPI) has them. */
const BUILT_IN_APIS = new Set(
  Object.keys(JSON.parse(read("node_modules/kubernetes-models/package.json")).exports as Record<string, unknown>)
    .map((k) => k.replace(/^\.\//, ""))
    .filter((k) => /^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(k)),
);

/** Whether Kubernetes itself serves this kind (a CRD kind is served only once its CRD is installed). */
async function builtIn(o: Pick<K, "apiVersion" | "kind">): Promise<boolean> {
  if (!BUILT_IN_APIS.has(o.apiVersion)) return false;
  const module = `kubernetes-models/${o.apiVersion}`;
  const mod = (await import(/* @vite-ignore */ module)) as Record<string, unknown>;
  return typeof mod[o.kind] === "function";
}

/** `apiVersion kind/name` of each object a kind cluster with `router` installed would not serve. */
async function unservedOn(router: RehearsalRouter, objs: K[]): Promise<string[]> {
  const group = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0]! : "");
  const out: string[] = [];
  for (const o of objs) {
    if (CRD_GROUPS[router].includes(group(o.apiVersion))) continue;
    if (!(await builtIn(o))) out.push(`${o.apiVersion} ${o.kind}/${o.metadata.name}`);
  }
  return out;
}

const rendered: Record<string, K[]> = {};
beforeAll(async () => {
  rendered.production = await render("kubernetes/production");
  for (const router of ROUTERS) rendered[router] = await render(`kubernetes/local/${router}`);
}, 120_000);

/** A RoleBinding or ClusterRoleBinding as rendered. */
type Binding = K & { roleRef: unknown; subjects: unknown[] };
const byKind = (objs: K[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const hostsOf = (router: RehearsalRouter) =>
  Object.values(rehearsalReleaseConfig(read("kubernetes/production/release.yaml"), router).urls)
    .map((u) => new URL(u).hostname)
    .sort();

describe("only kinds the rehearsal's cluster serves", () => {
  it("knows Kubernetes' own kinds from custom ones: production's cert-manager Certificate is not served on kind", async () => {
    expect(BUILT_IN_APIS.has("v1") && BUILT_IN_APIS.has("apps/v1") && BUILT_IN_APIS.has("networking.k8s.io/v1")).toBe(true);
    expect(await builtIn({ apiVersion: "apps/v1", kind: "Deployment" })).toBe(true);
    expect(await builtIn({ apiVersion: "apps/v1", kind: "Deploymnt" })).toBe(false);
    expect(await unservedOn("ingress-nginx", rendered.production)).toEqual(["cert-manager.io/v1 Certificate/production-tls"]);
    const gateway = { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "g" } };
    expect(await unservedOn("ingress-nginx", [gateway])).toEqual(["gateway.networking.k8s.io/v1 Gateway/g"]);
    expect(await unservedOn("gateway-api", [gateway])).toEqual([]);
  });

  it.each(ROUTERS)("kubernetes/local/%s and its router file use only Kubernetes' kinds and the router's CRDs", async (router) => {
    expect(Object.keys(CRD_GROUPS).sort()).toEqual(Object.keys(ROUTER_INSTALLS).sort());
    const routerFile = parseAllDocuments(read(ROUTER_INSTALLS[router].localFile)).map((d) => d.toJS() as K);
    expect(await unservedOn(router, [...rendered[router], ...routerFile])).toEqual([]);
  });
});

describe.each(ROUTERS)("kubernetes/local/%s", (router) => {
  it("keeps production's Deployments, Services and RBAC, in the same namespace", () => {
    const local = rendered[router];
    for (const kind of ["Deployment", "Service", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Namespace"]) {
      expect(
        byKind(local, kind)
          .map((o) => o.metadata.name)
          .sort(),
        kind,
      ).toEqual(
        byKind(rendered.production, kind)
          .map((o) => o.metadata.name)
          .sort(),
      );
    }
    const ns = rehearsalReleaseConfig(read("kubernetes/production/release.yaml"), router).namespace;
    const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);
    expect(local.filter((o) => !clusterScoped.has(o.kind)).every((o) => o.metadata.namespace === ns)).toBe(true);
  });

  it("releases as a ServiceAccount joined to production's own bindings: production's Role, nothing more", () => {
    const local = rendered[router];
    expect(byKind(local, "ServiceAccount").map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(["production/release-gate"]);
    const sa = { kind: "ServiceAccount", name: "release-gate", namespace: "production" };
    for (const kind of ["RoleBinding", "ClusterRoleBinding"]) {
      for (const binding of byKind(local, kind)) {
        const prod = byKind(rendered.production, kind).find((b) => b.metadata.name === binding.metadata.name) as Binding | undefined;
        expect(prod, binding.metadata.name).toBeDefined();
        expect((binding as Binding).roleRef, binding.metadata.name).toEqual(prod!.roleRef);
        expect((binding as Binding).subjects, binding.metadata.name).toEqual([...prod!.subjects, sa]);
      }
    }
  });

  it("lets the router's data plane, in the namespace the rehearsal installs it into, reach the app's port", () => {
    const objects = rendered[router];
    const dataPlane = ROUTER_INSTALLS[router].namespace;
    for (const d of byKind(rendered[router], "Deployment")) {
      const target = { namespace: "production", to: d.spec.template.metadata.labels, port: DEMO_APP_PORT, portName: "http" };
      expect(admitsFromNamespace(objects, { ...target, fromNamespace: dataPlane }), `${d.metadata.name} from ${dataPlane}`).toBe(true);
    }
  });

  it("runs the demo app image loaded into kind, never pulled, with 2 stable pods per service and the canary at 0", () => {
    const deployments = byKind(rendered[router], "Deployment");
    for (const d of deployments) {
      expect(d.spec.template.spec.containers[0].image, d.metadata.name).toBe(`${DEMO_IMAGE_REPOSITORY}:${STABLE_VERSION}`);
      expect(d.spec.template.spec.containers[0].imagePullPolicy, d.metadata.name).toBe("Never");
      expect(d.spec.replicas, d.metadata.name).toBe(d.metadata.name.endsWith("-canary") ? 0 : 2);
    }
    // The release.yaml the rehearsal derives names exactly these Deployments.
    const config = parse(rehearsalReleaseConfig(read("kubernetes/production/release.yaml"), router).text);
    const names = new Set(deployments.map((d) => d.metadata.name));
    for (const s of config.services) {
      expect(names.has(s.stable.deployment)).toBe(true);
      expect(names.has(s.canary.deployment)).toBe(true);
    }
  });
});

describe("kubernetes/local/ingress-nginx", () => {
  it("routes the release.yaml's local hosts over plain HTTP through class nginx", () => {
    const ing = named(rendered["ingress-nginx"], "Ingress", "production-ingress")!;
    expect(ing.spec.rules.map((r: any) => r.host).sort()).toEqual(hostsOf("ingress-nginx"));
    expect(ing.spec.tls).toBeUndefined();
    expect(ing.spec.ingressClassName).toBe("nginx");
    expect(ing.metadata.annotations?.["nginx.ingress.kubernetes.io/ssl-redirect"]).toBe("false");
    expect(ing.metadata.annotations?.["cert-manager.io/cluster-issuer"]).toBeUndefined();
    // The backends are production's.
    const prod = named(rendered.production, "Ingress", "production-ingress")!;
    expect(ing.spec.rules.map((r: any) => r.http)).toEqual(prod.spec.rules.map((r: any) => r.http));
  });

  it("puts the controller's HTTP NodePort where kind.yaml maps the edge", () => {
    const svc = parse(read("kubernetes/local/routers/ingress-nginx.yaml"));
    expect(svc).toMatchObject({ kind: "Service", metadata: { name: "ingress-nginx-controller", namespace: "ingress-nginx" } });
    expect(svc.spec.ports).toEqual([expect.objectContaining({ port: 80, protocol: "TCP", nodePort: EDGE_NODE_PORT })]);
  });
});

describe("kubernetes/local/gateway-api", () => {
  it("has no Ingress, an HTTP listener for the local hosts, and HTTPRoutes for the release.yaml's hosts", () => {
    const local = rendered["gateway-api"];
    expect(byKind(local, "Ingress")).toEqual([]);
    const gw = named(local, "Gateway", "production-gateway")!;
    expect(gw.spec.listeners).toEqual([
      { name: "http", protocol: "HTTP", port: 80, hostname: "*.qualisys.localhost", allowedRoutes: { namespaces: { from: "Same" } } },
    ]);
    expect(gw.metadata.annotations ?? {}).toEqual({});
    const routes = byKind(local, "HTTPRoute");
    expect(routes.flatMap((r) => r.spec.hostnames).sort()).toEqual(hostsOf("gateway-api"));
    for (const r of routes) {
      expect(r.spec.hostnames.every((h: string) => h.endsWith(".qualisys.localhost"))).toBe(true);
      expect(r.spec.rules[0].backendRefs.map((b: any) => b.weight)).toEqual([100, 0]);
    }
  });

  it("has the GatewayClass the Gateway names, handled by Envoy Gateway with its NodePort where kind.yaml maps the edge", () => {
    const gw = named(rendered["gateway-api"], "Gateway", "production-gateway")!;
    const docs = parseAllDocuments(read("kubernetes/local/routers/gateway-api.yaml")).map((d) => d.toJS());
    const cls = docs.find((d) => d.kind === "GatewayClass");
    const proxy = docs.find((d) => d.kind === "EnvoyProxy");
    expect(cls.metadata.name).toBe(gw.spec.gatewayClassName);
    expect(cls.spec.controllerName).toBe("gateway.envoyproxy.io/gatewayclass-controller");
    expect(cls.spec.parametersRef).toEqual({
      group: "gateway.envoyproxy.io",
      kind: "EnvoyProxy",
      name: proxy.metadata.name,
      namespace: proxy.metadata.namespace,
    });
    const svc = proxy.spec.provider.kubernetes.envoyService;
    expect(svc.type).toBe("NodePort");
    expect(svc.patch.value.spec.ports).toEqual([{ port: gw.spec.listeners[0].port, nodePort: EDGE_NODE_PORT }]);
  });
});
