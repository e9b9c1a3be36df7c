/**
 * Discovery documents, as kube-apiserver serves them: `/version`, the legacy forms (`/api`, `/apis`,
 * `/api/v1`, `/apis/<group>[/<version>]`) and the aggregated form (`apidiscovery.k8s.io/v2`
 * APIGroupDiscoveryList) that client-go asks for first and kubectl caches.
 */
import type { ResourceType } from "../store.ts";

export const SERVER_VERSION = {
  major: "1",
  minor: "34",
  emulationMajor: "1",
  emulationMinor: "34",
  minCompatibilityMajor: "1",
  minCompatibilityMinor: "33",
  gitVersion: "v1.34.2",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.24.0",
  compiler: "gc",
  platform: "linux/amd64",
};

export const AGGREGATED_DISCOVERY_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

const RESOURCE_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const SUBRESOURCE_VERBS = ["get", "patch", "update"];

/** Does the client accept the aggregated discovery format (client-go ≥ 1.26 asks for it first)? */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const [base, ...params] = part.split(";").map((s) => s.trim());
    const p = Object.fromEntries(params.map((kv) => kv.split("=") as [string, string]));
    return base === "application/json" && p.g === "apidiscovery.k8s.io" && p.v === "v2" && p.as === "APIGroupDiscoveryList";
  });
}

/** Group name → versions served, in the order the types were registered (core group excluded). */
function groupsOf(types: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of types) {
    if (t.group === "") continue;
    const vs = groups.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    groups.set(t.group, vs);
  }
  return groups;
}

const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);

export function apiVersions(serverAddress: string) {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function apiGroup(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: gv(name, v), version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(types: ResourceType[]) {
  return { kind: "APIGroupList", apiVersion: "v1", groups: [...groupsOf(types)].map(([name, vs]) => apiGroup(name, vs)) };
}

export function apiGroupDoc(types: ResourceType[], group: string) {
  const vs = groupsOf(types).get(group);
  return vs ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, vs) } : undefined;
}

/** The legacy APIResourceList of one group/version, or undefined when it is not served. */
export function apiResourceList(types: ResourceType[], group: string, version: string) {
  const ts = types.filter((t) => t.group === group && t.version === version);
  if (!ts.length) return undefined;
  const resources: unknown[] = [];
  for (const t of ts) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: RESOURCE_VERBS,
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      ...(t.categories ? { categories: t.categories } : {}),
    });
    for (const sub of t.subresources ?? []) {
      resources.push({
        name: `${t.plural}/${sub}`,
        singularName: "",
        namespaced: t.namespaced,
        ...(sub === "scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : { kind: t.kind }),
        verbs: SUBRESOURCE_VERBS,
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: gv(group, version), resources };
}

function discoveryResource(t: ResourceType) {
  return {
    resource: t.plural,
    responseKind: { group: "", version: "", kind: t.kind },
    scope: t.namespaced ? "Namespaced" : "Cluster",
    singularResource: t.singular,
    verbs: RESOURCE_VERBS,
    ...(t.shortNames ? { shortNames: t.shortNames } : {}),
    ...(t.categories ? { categories: t.categories } : {}),
    ...(t.subresources?.length
      ? {
          subresources: t.subresources.map((sub) => ({
            subresource: sub,
            responseKind:
              sub === "scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : { group: "", version: "", kind: t.kind },
            verbs: SUBRESOURCE_VERBS,
          })),
        }
      : {}),
  };
}

/** Aggregated discovery: `/api` (core only) or `/apis` (every named group). */
export function aggregatedDiscovery(types: ResourceType[], legacy: boolean) {
  const items = legacy
    ? [
        {
          metadata: {},
          versions: [{ version: "v1", resources: types.filter((t) => t.group === "").map(discoveryResource), freshness: "Current" }],
        },
      ]
    : [...groupsOf(types)].map(([name, vs]) => ({
        metadata: { name },
        versions: vs.map((v) => ({
          version: v,
          resources: types.filter((t) => t.group === name && t.version === v).map(discoveryResource),
          freshness: "Current",
        })),
      }));
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}
