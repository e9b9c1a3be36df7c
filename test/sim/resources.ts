/**
 * The kinds the simulator serves: every kind the pipeline touches, plus the ones the production manifests
 * declare (RBAC, quota, PDB, HPA, NetworkPolicy...) so that `kubectl apply -k kubernetes/production` works.
 * Kinds the simulator has no behaviour for are stored and served as-is.
 */
import type { ResourceType } from "./store.ts";

type Sub = NonNullable<ResourceType["subresources"]>;

/**
 * Kinds whose real registry strategy never sets `metadata.generation`; every other kind here (workloads, Pods
 * since 1.34's observed-generation tracking, Ingress, NetworkPolicy, PDB, HPA, custom resources) has it.
 */
const NO_GENERATION = new Set([
  "/Namespace",
  "/Node",
  "/Service",
  "/Endpoints",
  "/ConfigMap",
  "/Secret",
  "/ServiceAccount",
  "/Event",
  "/ResourceQuota",
  "/LimitRange",
  "/PersistentVolumeClaim",
  "rbac.authorization.k8s.io/Role",
  "rbac.authorization.k8s.io/RoleBinding",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "coordination.k8s.io/Lease",
  "events.k8s.io/Event",
]);

function rt(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: { sub?: Sub; short?: string[]; cat?: string[] } = {},
): ResourceType {
  const t: ResourceType = { group, version, kind, plural, singular: kind.toLowerCase(), namespaced };
  if (NO_GENERATION.has(`${group}/${kind}`)) t.tracksGeneration = false;
  if (extra.sub) t.subresources = extra.sub;
  if (extra.short) t.shortNames = extra.short;
  if (extra.cat) t.categories = extra.cat;
  return t;
}

/** API groups that are CustomResourceDefinitions on a real cluster (no strategic merge patch, no protobuf). */
export const CUSTOM_RESOURCE_GROUPS = new Set(["gateway.networking.k8s.io", "cert-manager.io"]);

export const isCustomResource = (t: Pick<ResourceType, "group">): boolean => CUSTOM_RESOURCE_GROUPS.has(t.group);

export function defaultResourceTypes(): ResourceType[] {
  const all = ["all"];
  return [
    // core/v1
    rt("", "v1", "Namespace", "namespaces", false, { sub: ["status"], short: ["ns"] }),
    rt("", "v1", "Node", "nodes", false, { sub: ["status"], short: ["no"] }),
    rt("", "v1", "Pod", "pods", true, { sub: ["status"], short: ["po"], cat: all }),
    rt("", "v1", "Service", "services", true, { sub: ["status"], short: ["svc"], cat: all }),
    rt("", "v1", "Endpoints", "endpoints", true, { short: ["ep"] }),
    rt("", "v1", "ConfigMap", "configmaps", true, { short: ["cm"] }),
    rt("", "v1", "Secret", "secrets", true),
    rt("", "v1", "ServiceAccount", "serviceaccounts", true, { short: ["sa"] }),
    rt("", "v1", "Event", "events", true, { short: ["ev"] }),
    rt("", "v1", "ResourceQuota", "resourcequotas", true, { sub: ["status"], short: ["quota"] }),
    rt("", "v1", "LimitRange", "limitranges", true, { short: ["limits"] }),
    rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, { sub: ["status"], short: ["pvc"] }),
    // apps/v1
    rt("apps", "v1", "Deployment", "deployments", true, { sub: ["status", "scale"], short: ["deploy"], cat: all }),
    rt("apps", "v1", "ReplicaSet", "replicasets", true, { sub: ["status", "scale"], short: ["rs"], cat: all }),
    rt("apps", "v1", "StatefulSet", "statefulsets", true, { sub: ["status", "scale"], short: ["sts"], cat: all }),
    rt("apps", "v1", "DaemonSet", "daemonsets", true, { sub: ["status"], short: ["ds"], cat: all }),
    // batch/v1
    rt("batch", "v1", "Job", "jobs", true, { sub: ["status"], cat: all }),
    rt("batch", "v1", "CronJob", "cronjobs", true, { sub: ["status"], short: ["cj"], cat: all }),
    // autoscaling/v2
    rt("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, { sub: ["status"], short: ["hpa"], cat: all }),
    // policy/v1
    rt("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, { sub: ["status"], short: ["pdb"] }),
    // networking.k8s.io/v1
    rt("networking.k8s.io", "v1", "Ingress", "ingresses", true, { sub: ["status"], short: ["ing"] }),
    rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false),
    rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, { short: ["netpol"] }),
    // rbac.authorization.k8s.io/v1
    rt("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
    rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
    rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false),
    // coordination.k8s.io/v1
    rt("coordination.k8s.io", "v1", "Lease", "leases", true),
    // events.k8s.io/v1 (a separate store from core/v1 events here; one storage on a real server)
    rt("events.k8s.io", "v1", "Event", "events", true, { short: ["ev"] }),
    // gateway.networking.k8s.io/v1 (CRDs on a real cluster)
    rt("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", false, { sub: ["status"], short: ["gc"] }),
    rt("gateway.networking.k8s.io", "v1", "Gateway", "gateways", true, { sub: ["status"], short: ["gtw"] }),
    rt("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", true, { sub: ["status"] }),
    rt("gateway.networking.k8s.io", "v1beta1", "ReferenceGrant", "referencegrants", true, { short: ["refgrant"] }),
    // cert-manager.io/v1 (CRDs on a real cluster; stored, never issued here)
    rt("cert-manager.io", "v1", "Certificate", "certificates", true, { sub: ["status"], short: ["cert", "certs"] }),
  ];
}
