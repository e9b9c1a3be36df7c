/**
 * Every manifest under kubernetes/production renders (`kubectl kustomize` with the real kubectl) and validates
 * against the real schemas: Kubernetes' own (kubernetes-models, generated from the Kubernetes OpenAPI), Gateway
 * API's and cert-manager's (their CRDs' schemas, @kubernetes-models/*). Fields the API does not know are found by
 * a round trip through @kubernetes/client-node's models (generated from the same OpenAPI), which drop them, as a
 * server with strict field validation would refuse them. Then what this base promises: Pod Security `restricted`,
 * no service-account tokens in the app's pods, disruption budgets, a default-deny NetworkPolicy, a quota above a
 * release's peak, and one certificate and DNS name set for app.qualisys.io and api.qualisys.io.
 */
// Not re-exported by the package's index; the package has no exports map, so its module is importable by path.
import { ObjectSerializer } from "@kubernetes/client-node/dist/serializer.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ROUTER_INSTALLS } from "#src/rehearsal/routers.ts";
import { kubectlFor, type KubectlRunner } from "../support/kubectl.ts";
import { overlayWithComponents } from "../support/kustomize.ts";
import { admitsFromNamespace } from "./network-policy.ts";

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
} & Record<string, any>;

// The kind rehearsal's overlays too: what a rehearsal applies must be as valid as what production gets.
const BASES = [
  "kubernetes/production",
  "kubernetes/production/gateway-api",
  "kubernetes/local/ingress-nginx",
  "kubernetes/local/gateway-api",
];
/** Opt-in components, each rendered with the base as a user's overlay enables it. */
const COMPONENTS = ["kubernetes/production/components/analysis-secret"];
let kubectl: KubectlRunner;
let overlays: string;
const rendered = new Map<string, Manifest[]>();

beforeAll(async () => {
  kubectl = await kubectlFor("/dev/null");
  overlays = await mkdtemp(join(tmpdir(), "release-gate-overlays-"));
  const targets = [...BASES.map((b) => [b, b] as const)];
  for (const c of COMPONENTS) {
    targets.push([c, await overlayWithComponents(await mkdtemp(join(overlays, "o-")), "kubernetes/production", [c])]);
  }
  for (const [base, dir] of targets) {
    const r = await kubectl.run(["kustomize", dir]);
    expect(r.stderr, `kubectl kustomize ${base}`).toBe("");
    expect(r.exitCode).toBe(0);
    rendered.set(
      base,
      parseAllDocuments(r.stdout).map((d) => d.toJS() as Manifest),
    );
  }
});
afterAll(async () => {
  await kubectl?.dispose();
  if (overlays) await rm(overlays, { recursive: true, force: true });
});

const all = () => [...rendered.values()].flat();
const base = () => rendered.get("kubernetes/production")!;
const ofKind = (kind: string) => base().filter((m) => m.kind === kind);

/** The kubernetes-models module serving an apiVersion: Kubernetes' own groups, cert-manager's, Gateway API's. */
function modelModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "cert-manager.io") return `@kubernetes-models/cert-manager/${group}/${version}`;
  if (group === "gateway.networking.k8s.io") return `@kubernetes-models/gateway-api/${group}/${version}`;
  return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

/** Schema errors of one manifest (empty when valid). */
async function schemaErrors(m: Manifest): Promise<string[]> {
  const mod = (await import(modelModule(m.apiVersion))) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[m.kind];
  if (!Model) return [`no schema for ${m.apiVersion} ${m.kind}`];
  try {
    new Model(m).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Fields the Kubernetes API does not know, for built-in kinds: what a round trip through client-node's models drops. */
function unknownFields(m: Manifest): string[] {
  const [group] = m.apiVersion.includes("/") ? m.apiVersion.split("/") : [""];
  if (group === "cert-manager.io" || group === "gateway.networking.k8s.io") return [];
  const type = `V1${m.kind}`;
  const back = ObjectSerializer.serialize(ObjectSerializer.deserialize(structuredClone(m), type), type) as unknown;
  return diffPaths(m, back);
}

function diffPaths(a: unknown, b: unknown, path = ""): string[] {
  if (a && typeof a === "object") {
    if (!b || typeof b !== "object") return [path || "(root)"];
    return Object.keys(a).flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return a === b ? [] : [path];
}

describe("every manifest renders and validates against the real schemas", () => {
  it("renders both bases, with the kinds this base is made of", () => {
    expect(new Set(base().map((m) => m.kind))).toEqual(
      new Set([
        "Namespace",
        "Deployment",
        "Service",
        "Ingress",
        "Certificate",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ResourceQuota",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
      ]),
    );
    expect(
      rendered
        .get("kubernetes/production/gateway-api")!
        .map((m) => m.kind)
        .sort(),
    ).toEqual(["Gateway", "HTTPRoute", "HTTPRoute", "NetworkPolicy"]);
  });

  it("the analysis-secret component adds to the base's Role get on the one Secret it names, and changes nothing else", () => {
    const withIt = rendered.get("kubernetes/production/components/analysis-secret")!;
    const role = (ms: Manifest[]) => ms.find((m) => m.kind === "Role" && m.metadata.name === "release-gate")!;
    const added = role(withIt).rules.slice(role(base()).rules.length);
    expect(role(withIt).rules.slice(0, role(base()).rules.length)).toEqual(role(base()).rules);
    expect(added).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["prometheus-auth"], verbs: ["get"] }]);
    const rest = (ms: Manifest[]) => ms.filter((m) => m !== role(ms));
    expect(rest(withIt)).toEqual(rest(base()));
    // The base itself reads no Secret.
    expect(role(base()).rules.filter((r: { resources: string[] }) => r.resources.includes("secrets"))).toEqual([]);
  });

  it("validates every object against its schema", async () => {
    const errors = (
      await Promise.all(all().map(async (m) => (await schemaErrors(m)).map((e) => `${m.kind}/${m.metadata.name}: ${e}`)))
    ).flat();
    expect(errors).toEqual([]);
  });

  it("uses no field the Kubernetes API does not know", () => {
    expect(all().flatMap((m) => unknownFields(m).map((p) => `${m.kind}/${m.metadata.name}: ${p}`))).toEqual([]);
  });

  it("the checks are live: a wrong type, a missing required field and a misspelt field are each found", async () => {
    const d = structuredClone(ofKind("Deployment")[0]!);
    d.spec.replicas = "four";
    expect((await schemaErrors(d)).join()).toContain("replicas must be integer");
    const cert = structuredClone(base().find((m) => m.kind === "Certificate")!);
    delete cert.spec.issuerRef;
    expect((await schemaErrors(cert)).join()).toContain("issuerRef");
    const route = structuredClone(rendered.get("kubernetes/production/gateway-api")!.find((m) => m.kind === "HTTPRoute")!);
    route.spec.rules[0].backendRefs[0].weight = -1;
    expect((await schemaErrors(route)).length).toBeGreaterThan(0);
    const typo = structuredClone(ofKind("Deployment")[0]!);
    typo.spec.template.spec.automountServiceAccountTokn = false;
    expect(unknownFields(typo)).toEqual([".spec.template.spec.automountServiceAccountTokn"]);
  });
});

describe("what the production base promises", () => {
  it("the namespace enforces, audits and warns at Pod Security restricted", () => {
    const ns = ofKind("Namespace")[0]!;
    for (const mode of ["enforce", "audit", "warn"]) expect(ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`]).toBe("restricted");
  });

  it("every Deployment meets the restricted profile and mounts no service-account token", () => {
    const deployments = ofKind("Deployment");
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      "qualisys-api-canary",
      "qualisys-api-stable",
      "qualisys-web-canary",
      "qualisys-web-stable",
    ]);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.automountServiceAccountToken, d.metadata.name).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod.hostNetwork ?? false).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.securityContext, `${d.metadata.name}/${c.name}`).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(c.securityContext.privileged ?? false).toBe(false);
        expect(c.securityContext.capabilities.add ?? []).toEqual([]);
        expect(c.resources.limits.memory).toBeDefined();
      }
    }
  });

  it("a PodDisruptionBudget covers exactly each stable Deployment's pods", () => {
    const pdbs = ofKind("PodDisruptionBudget");
    for (const d of ofKind("Deployment").filter((x) => x.metadata.name.endsWith("-stable"))) {
      const pdb = pdbs.find((p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(d.spec.selector.matchLabels));
      expect(pdb, d.metadata.name).toBeDefined();
      expect(pdb!.spec.maxUnavailable).toBeLessThan(d.spec.replicas);
    }
  });

  it("denies all ingress by default and lets only the ingress controller and the app reach the app's port", () => {
    const policies = ofKind("NetworkPolicy");
    expect(policies.find((p) => JSON.stringify(p.spec.podSelector) === "{}")?.spec.policyTypes).toEqual(["Ingress"]);
    const http = policies.find((p) => p.spec.ingress)!;
    expect(http.spec.ingress[0].ports).toEqual([{ protocol: "TCP", port: 3000 }]);
    expect(http.spec.ingress[0].from[0]).toEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
    });
  });

  /**
   * What each router's cluster applies (the base; Gateway API clusters add gateway-api/) and where its data plane
   * runs, the pods that connect to the app: ingress-nginx's controller, Envoy Gateway's Envoy proxies (by default in
   * the controller's own namespace). The rehearsal installs each router into the same namespace.
   */
  const ROUTER_CLUSTERS = [
    { router: "ingress-nginx", applies: ["kubernetes/production"], dataPlane: "ingress-nginx" },
    { router: "gateway-api", applies: ["kubernetes/production", "kubernetes/production/gateway-api"], dataPlane: "envoy-gateway-system" },
  ] as const;

  it.each(ROUTER_CLUSTERS)(
    "$router: the app's port takes traffic from the router's data plane ($dataPlane)",
    ({ router, applies, dataPlane }) => {
      expect(ROUTER_INSTALLS[router].namespace).toBe(dataPlane);
      const objects = applies.flatMap((b) => rendered.get(b)!);
      const deployments = objects.filter((m) => m.kind === "Deployment");
      expect(deployments.length).toBeGreaterThan(0);
      for (const d of deployments) {
        const port = d.spec.template.spec.containers[0].ports.find((p: { name: string }) => p.name === "http");
        const target = { namespace: "production", to: d.spec.template.metadata.labels, port: port.containerPort, portName: "http" };
        expect(admitsFromNamespace(objects, { ...target, fromNamespace: dataPlane }), `${d.metadata.name} from ${dataPlane}`).toBe(true);
        // The checks are live: the default deny still holds for any other namespace.
        expect(admitsFromNamespace(objects, { ...target, fromNamespace: "default" }), `${d.metadata.name} from default`).toBe(false);
      }
    },
  );

  it("a Gateway API cluster's admission comes from gateway-api/: the base alone keeps Envoy's namespace out", () => {
    const objects = base();
    const d = ofKind("Deployment")[0]!;
    const target = { namespace: "production", to: d.spec.template.metadata.labels, port: 3000, portName: "http" };
    expect(admitsFromNamespace(objects, { ...target, fromNamespace: "ingress-nginx" })).toBe(true);
    expect(admitsFromNamespace(objects, { ...target, fromNamespace: "envoy-gateway-system" })).toBe(false);
  });

  it("the quota leaves room for a release's peak: stable, a canary as large, and one surge pod per service", () => {
    const hard = ofKind("ResourceQuota")[0]!.spec.hard;
    const stable = ofKind("Deployment").filter((d) => d.metadata.name.endsWith("-stable"));
    const peakPods = stable.reduce((n, d) => n + 2 * d.spec.replicas + (d.spec.strategy?.rollingUpdate?.maxSurge ?? 1), 0);
    expect(Number(hard.pods)).toBeGreaterThanOrEqual(peakPods);
    const mi = (q: string) => (q.endsWith("Gi") ? Number(q.slice(0, -2)) * 1024 : Number(q.replace(/Mi$/, "")));
    const perPod = stable[0]!.spec.template.spec.containers[0].resources;
    expect(mi(hard["limits.memory"])).toBeGreaterThanOrEqual(peakPods * mi(perPod.limits.memory));
    expect(mi(hard["requests.memory"])).toBeGreaterThanOrEqual(peakPods * mi(perPod.requests.memory));
  });

  it("one certificate and one DNS name set for app.qualisys.io and api.qualisys.io, matching the Ingress", () => {
    const ingress = ofKind("Ingress")[0]!;
    const hosts = ingress.spec.rules.map((r: { host: string }) => r.host).sort();
    expect(hosts).toEqual(["api.qualisys.io", "app.qualisys.io"]);
    const cert = base().find((m) => m.kind === "Certificate")!;
    expect([...cert.spec.dnsNames].sort()).toEqual(hosts);
    expect(cert.spec.secretName).toBe(ingress.spec.tls[0].secretName);
    expect(cert.spec.issuerRef).toMatchObject({ kind: "ClusterIssuer", name: "letsencrypt-prod" });
    // One owner of the Secret: no cert-manager ingress-shim annotation next to the Certificate.
    expect(Object.keys(ingress.metadata.annotations ?? {}).filter((k) => k.startsWith("cert-manager.io/"))).toEqual([]);
    expect(ingress.metadata.annotations?.["external-dns.alpha.kubernetes.io/hostname"]?.split(",").sort()).toEqual(hosts);
    const gateway = rendered.get("kubernetes/production/gateway-api")!.find((m) => m.kind === "Gateway")!;
    expect(gateway.spec.listeners[0].tls.certificateRefs).toEqual([{ name: cert.spec.secretName }]);
    expect(gateway.metadata.annotations?.["external-dns.alpha.kubernetes.io/hostname"]?.split(",").sort()).toEqual(hosts);
  });

  it("binds the deploy Role to a Group (an EKS access entry's kubernetesGroups), not to a ServiceAccount", () => {
    for (const b of [...ofKind("RoleBinding"), ...ofKind("ClusterRoleBinding")]) {
      expect(b.subjects).toEqual([{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "release-gate-deployers" }]);
    }
    expect(ofKind("ServiceAccount")).toEqual([]);
  });
});
