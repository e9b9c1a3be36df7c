/**
 * Strategic merge patch (`application/strategic-merge-patch+json`) as the API server applies it to built-in
 * kinds: maps merge recursively, `null` deletes, lists listed in list-types.ts merge by their patch merge key,
 * other lists are replaced; directives `$patch: replace|delete|merge`, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
 * Reference: k8s.io/apimachinery/pkg/util/strategicpatch and the "strategic-merge-patch" design doc.
 */
import type { ResourceType } from "../store.ts";
import { badRequest } from "../api/status.ts";
import { listTypeAt, type ListType } from "./list-types.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonMap = { [k: string]: Json };

const isMap = (v: unknown): v is JsonMap => typeof v === "object" && v !== null && !Array.isArray(v);
const DELETE = Symbol("delete");

export function applyStrategicMergePatch(t: Pick<ResourceType, "group" | "kind">, original: object, patch: unknown): JsonMap {
  if (!isMap(patch)) throw badRequest("the body of the request was not a JSON object: a strategic merge patch must be a JSON object");
  const out = mergeMap(t, structuredClone(original) as JsonMap, patch, []);
  if (out === DELETE) return {};
  return out;
}

function mergeMap(
  t: Pick<ResourceType, "group" | "kind">,
  original: JsonMap | undefined,
  patch: JsonMap,
  path: string[],
): JsonMap | typeof DELETE {
  const directive = patch["$patch"];
  if (directive === "delete") return DELETE;
  if (directive === "replace") return stripDirectives(patch) as JsonMap;
  if (directive !== undefined && directive !== "merge") throw badRequest(`Unknown patch type: ${String(directive)}`);
  const result: JsonMap = isMap(original) ? original : {};

  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const cur = result[field];
      if (Array.isArray(cur) && Array.isArray(value)) result[field] = cur.filter((x) => !value.some((v) => deepEqual(v, x)));
      continue;
    }
    if (key.startsWith("$")) throw badRequest(`unknown directive "${key}" in strategic merge patch`);
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      const merged = mergeList(t, result[key], value, [...path, key]);
      result[key] = merged;
    } else if (isMap(value)) {
      const merged = mergeMap(t, isMap(result[key]) ? result[key] : undefined, value, [...path, key]);
      if (merged === DELETE) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }

  const retain = patch["$retainKeys"];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k)) delete result[k];
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith("$setElementOrder/") || !Array.isArray(order)) continue;
    const field = key.slice("$setElementOrder/".length);
    const list = result[field];
    if (Array.isArray(list)) result[field] = reorder(list, order, listTypeAt(t, [...path, field]));
  }
  return result;
}

function mergeList(t: Pick<ResourceType, "group" | "kind">, original: Json | undefined, patch: Json[], path: string[]): Json[] {
  const lt = listTypeAt(t, path);
  const orig = Array.isArray(original) ? original : [];
  if (lt.type === "atomic") return patch.map(stripDirectives);
  if (lt.type === "set") {
    const out = [...orig];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  // A list of maps merged by its merge key.
  if (patch.some((p) => isMap(p) && p["$patch"] === "replace")) {
    return patch.filter((p) => !(isMap(p) && p["$patch"] === "replace")).map(stripDirectives);
  }
  const out: Json[] = [...orig];
  for (const item of patch) {
    if (!isMap(item)) throw badRequest(`unable to merge a list of maps at ${path.join(".")}: element ${JSON.stringify(item)} is not a map`);
    const keyValue = item[lt.mergeKey];
    if (keyValue === undefined) throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${lt.mergeKey}`);
    const idx = out.findIndex((o) => isMap(o) && deepEqual(o[lt.mergeKey], keyValue));
    if (item["$patch"] === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = mergeMap(t, out[idx] as JsonMap, item, path);
      if (merged === DELETE) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

/** Order `list` as `order` says (items named by merge key, or primitive values); items not named keep their place at the end. */
function reorder(list: Json[], order: Json[], lt: ListType): Json[] {
  const keyOf = (x: Json): Json => (lt.type === "map" && isMap(x) ? (x[lt.mergeKey] ?? null) : x);
  const wanted = order.map(keyOf);
  const ranked = list.map((item, i) => {
    const r = wanted.findIndex((w) => deepEqual(w, keyOf(item)));
    return { item, rank: r < 0 ? wanted.length + i : r };
  });
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.item);
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isMap(v)) return v;
  const out: JsonMap = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object);
  const bk = Object.keys(b as object);
  return (
    ak.length === bk.length &&
    ak.every((k) => Object.hasOwn(b as object, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
