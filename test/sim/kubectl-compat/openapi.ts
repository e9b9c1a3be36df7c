/**
 * OpenAPI v3 as far as kubectl needs it. kubectl (≥ 1.27) fetches `/openapi/v3` and the per-group-version
 * documents to learn whether a kind's PATCH endpoint accepts `fieldValidation` (server-side field validation)
 * and which patch types it takes; without these documents `kubectl apply/create` fail client-side validation.
 *
 * Limits: the documents carry paths and operations but no component schemas, so `kubectl explain` has
 * nothing to show, and `kubectl apply` computes strategic merge patches from its compiled-in Go types (its
 * documented fallback) rather than from published schemas. `/openapi/v2` is not served (404).
 */
import { createHash } from "node:crypto";
import type { ResourceType } from "../store.ts";
import { isCustomResource } from "../resources.ts";

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

function groupVersions(types: ResourceType[]): Array<[string, string]> {
  const seen = new Map<string, [string, string]>();
  for (const t of types) seen.set(gvPath(t.group, t.version), [t.group, t.version]);
  return [...seen.values()];
}

export function openApiV3Root(types: ResourceType[]) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [group, version] of groupVersions(types)) {
    const doc = openApiV3GroupVersion(types, group, version)!;
    const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").slice(0, 64).toUpperCase();
    paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}` };
  }
  return { paths };
}

const queryParam = (name: string) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } });

function patchOperation(t: ResourceType) {
  const content: Record<string, object> = {
    "application/json-patch+json": { schema: { type: "object" } },
    "application/merge-patch+json": { schema: { type: "object" } },
    "application/apply-patch+yaml": { schema: { type: "object" } },
  };
  if (!isCustomResource(t)) content["application/strategic-merge-patch+json"] = { schema: { type: "object" } };
  return {
    operationId: `patch${t.kind}`,
    parameters: ["dryRun", "fieldManager", "fieldValidation", "force"].map(queryParam),
    requestBody: { content, required: true },
    responses: { "200": { description: "OK" } },
    "x-kubernetes-action": "patch",
    "x-kubernetes-group-version-kind": { group: t.group, version: t.version, kind: t.kind },
  };
}

function simpleOperation(t: ResourceType, action: string, params: string[]) {
  return {
    operationId: `${action}${t.kind}`,
    parameters: params.map(queryParam),
    responses: { "200": { description: "OK" } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: t.group, version: t.version, kind: t.kind },
  };
}

export function openApiV3GroupVersion(types: ResourceType[], group: string, version: string) {
  const ts = types.filter((t) => t.group === group && t.version === version);
  if (!ts.length) return undefined;
  const paths: Record<string, object> = {};
  for (const t of ts) {
    const base = `/${gvPath(group, version)}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.plural}`;
    paths[base] = {
      get: simpleOperation(t, "list", [
        "labelSelector",
        "fieldSelector",
        "resourceVersion",
        "watch",
        "timeoutSeconds",
        "allowWatchBookmarks",
      ]),
      post: simpleOperation(t, "post", ["dryRun", "fieldManager", "fieldValidation"]),
    };
    paths[`${base}/{name}`] = {
      get: simpleOperation(t, "get", []),
      put: simpleOperation(t, "put", ["dryRun", "fieldManager", "fieldValidation"]),
      patch: patchOperation(t),
      delete: simpleOperation(t, "delete", ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.34.2" },
    paths,
    components: { schemas: {} },
  };
}
