/**
 * Request routing: which resource, namespace, name and subresource a URL path addresses, and which verb the
 * request is, following kube-apiserver's RequestInfoFactory (`/api/v1/...`, `/apis/<group>/<version>/...`,
 * `namespaces/<ns>/<resource>`, the legacy `/watch/` prefix).
 */
import type { ResourceType, Store } from "../store.ts";
import { typeKeyOf } from "../store.ts";
import type { Verb } from "../faults.ts";
import { methodNotAllowed, unknownResource } from "./status.ts";

export interface ResourceRequest {
  type: ResourceType;
  typeKey: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: Verb;
}

export type Route = { kind: "resource"; req: ResourceRequest } | { kind: "discovery"; path: string } | { kind: "other"; path: string };

/** Split `/apis/apps/v1/namespaces/x/deployments/y/scale` into its parts; discovery and other paths pass through. */
export function route(store: Store, method: string, path: string, query: URLSearchParams): Route {
  const segs = path
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api") {
    if (segs.length <= 2) return { kind: "discovery", path };
    group = "";
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === "apis") {
    if (segs.length <= 3) return { kind: "discovery", path };
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return { kind: "other", path };

  let watchPrefix = false;
  if (rest[0] === "watch") {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  const find = (plural: string | undefined) => (plural === undefined ? undefined : store.types.get(typeKeyOf({ group, version, plural })));

  let namespace: string | undefined;
  let type: ResourceType | undefined;
  let name: string | undefined;
  let subresource: string | undefined;
  const nsType = rest[0] === "namespaces" && rest.length >= 3 ? find(rest[2]) : undefined;
  if (nsType?.namespaced) {
    namespace = rest[1];
    type = nsType;
    [name, subresource] = rest.slice(3);
    if (rest.length > 5) throw unknownResource();
  } else {
    type = find(rest[0]);
    [name, subresource] = rest.slice(1);
    if (rest.length > 3) throw unknownResource();
  }
  if (!type) throw unknownResource();
  if (subresource !== undefined && !(type.subresources ?? []).includes(subresource as "status" | "scale")) throw unknownResource();

  const isWatch = watchPrefix || query.get("watch") === "true" || query.get("watch") === "1";
  let verb: Verb;
  switch (method) {
    case "GET":
      verb = name === undefined ? (isWatch ? "watch" : "list") : isWatch ? "watch" : "get";
      break;
    case "POST":
      if (name !== undefined) throw methodNotAllowed();
      verb = "create";
      break;
    case "PUT":
      if (name === undefined) throw methodNotAllowed();
      verb = "update";
      break;
    case "PATCH":
      if (name === undefined) throw methodNotAllowed();
      verb = "patch";
      break;
    case "DELETE":
      if (subresource !== undefined) throw methodNotAllowed();
      verb = name === undefined ? "deletecollection" : "delete";
      break;
    default:
      throw methodNotAllowed();
  }
  if (subresource !== undefined && !["get", "update", "patch"].includes(verb)) throw methodNotAllowed();
  const req: ResourceRequest = { type, typeKey: typeKeyOf(type), verb };
  if (namespace !== undefined) req.namespace = namespace;
  if (name !== undefined) req.name = name;
  if (subresource !== undefined) req.subresource = subresource;
  return { kind: "resource", req };
}
