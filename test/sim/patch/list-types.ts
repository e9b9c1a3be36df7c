/**
 * How each list in a built-in object merges, the knowledge that strategic merge patch (`patchMergeKey`,
 * `patchStrategy` struct tags) and server-side apply (`listType`/`listMapKeys`) take from the Go types.
 * Covered: the lists of Pod templates, Services, object metadata and status conditions, plus Gateway
 * listeners. Every other list is atomic (replaced whole), which is also what custom resources get by default.
 */
import { isCustomResource } from "../resources.ts";
import type { ResourceType } from "../store.ts";

export type ListType =
  { type: "map"; keys: string[]; mergeKey: string; defaults?: Record<string, unknown> } | { type: "set" } | { type: "atomic" };

const ATOMIC: ListType = { type: "atomic" };
const byName: ListType = { type: "map", keys: ["name"], mergeKey: "name" };

/** Lists keyed the same wherever they appear inside a pod spec or container. */
const POD_LISTS: Record<string, ListType> = {
  containers: byName,
  initContainers: byName,
  ephemeralContainers: byName,
  volumes: byName,
  imagePullSecrets: byName,
  resourceClaims: byName,
  env: byName,
  volumeMounts: { type: "map", keys: ["mountPath"], mergeKey: "mountPath" },
  volumeDevices: { type: "map", keys: ["devicePath"], mergeKey: "devicePath" },
  resizePolicy: { type: "map", keys: ["resourceName"], mergeKey: "resourceName" },
  hostAliases: { type: "map", keys: ["ip"], mergeKey: "ip" },
  topologySpreadConstraints: { type: "map", keys: ["topologyKey", "whenUnsatisfiable"], mergeKey: "topologyKey" },
};

const CONTAINER_LISTS = new Set(["containers", "initContainers", "ephemeralContainers"]);

/**
 * The list type at `path` (field names from the object root, list positions omitted), for objects of type `t`.
 */
export function listTypeAt(t: Pick<ResourceType, "group" | "kind">, path: readonly string[]): ListType {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (last === undefined) return ATOMIC;
  if (path.length === 2 && path[0] === "metadata") {
    if (last === "finalizers") return { type: "set" };
    if (last === "ownerReferences") return { type: "map", keys: ["uid"], mergeKey: "uid" };
    return ATOMIC;
  }
  if (last === "conditions" && path[0] === "status" && !isCustomResource(t)) return { type: "map", keys: ["type"], mergeKey: "type" };
  if (isCustomResource(t)) {
    if (t.kind === "Gateway" && path.join(".") === "spec.listeners") return byName;
    return ATOMIC;
  }
  if (t.kind === "Service" && path.join(".") === "spec.ports") {
    return { type: "map", keys: ["port", "protocol"], mergeKey: "port", defaults: { protocol: "TCP" } };
  }
  if (last === "ports" && parent !== undefined && CONTAINER_LISTS.has(parent)) {
    return { type: "map", keys: ["containerPort", "protocol"], mergeKey: "containerPort", defaults: { protocol: "TCP" } };
  }
  if (path[0] === "spec" && Object.hasOwn(POD_LISTS, last)) return POD_LISTS[last]!;
  return ATOMIC;
}
