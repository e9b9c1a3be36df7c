/**
 * Field sets, the unit of ownership in server-side apply: the set of paths an object (or a manager) sets,
 * with list items addressed by their keys as structured-merge-diff does (`f:spec`, `k:{"name":"web"}`,
 * `v:"finalizer"`), and their `fieldsV1` encoding in `metadata.managedFields`.
 *
 * Model limits: leaves, associative-list items and set members are tracked; maps are tracked as members only
 * when empty; `selector` fields are atomic (as LabelSelector and Service selectors are upstream).
 */
import type { ResourceType } from "../store.ts";
import { deepEqual } from "../patch/strategic.ts";
import { listTypeAt, type ListType } from "../patch/list-types.ts";

export type PathElement = string; // "f:name" | "k:{...}" | "v:<json>"
export type FieldPath = PathElement[];

type J = unknown;
type JMap = Record<string, J>;
const isMap = (v: unknown): v is JMap => typeof v === "object" && v !== null && !Array.isArray(v);

/** Encoded paths; a Set of strings so equal paths compare equal. */
export class FieldSet {
  private readonly paths = new Map<string, FieldPath>();
  constructor(paths: Iterable<FieldPath> = []) {
    for (const p of paths) this.add(p);
  }
  static key = (p: FieldPath): string => JSON.stringify(p);
  add(p: FieldPath): void {
    this.paths.set(FieldSet.key(p), p);
  }
  has(p: FieldPath): boolean {
    return this.paths.has(FieldSet.key(p));
  }
  delete(p: FieldPath): void {
    this.paths.delete(FieldSet.key(p));
  }
  get size(): number {
    return this.paths.size;
  }
  [Symbol.iterator](): IterableIterator<FieldPath> {
    return this.paths.values();
  }
  minus(other: FieldSet): FieldSet {
    return new FieldSet([...this].filter((p) => !other.has(p)));
  }

  /** `fieldsV1` tree: `{ "f:spec": { "f:replicas": {} } }`, `.` marking a member that also has children. */
  toFieldsV1(): JMap {
    const root: JMap = {};
    const sorted = [...this].sort((a, b) => a.length - b.length);
    for (const p of sorted) {
      let node = root;
      for (const el of p) node = (node[el] ??= {}) as JMap;
      if (Object.keys(node).length) node["."] = {};
    }
    // Members whose children were inserted after them need the "." marker too.
    const mark = (node: JMap, path: FieldPath) => {
      for (const [k, child] of Object.entries(node)) {
        if (k === ".") continue;
        const cp = [...path, k];
        if (isMap(child) && Object.keys(child).length && this.has(cp)) child["."] = {};
        if (isMap(child)) mark(child, cp);
      }
    };
    mark(root, []);
    return root;
  }

  static fromFieldsV1(tree: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: unknown, path: FieldPath) => {
      if (!isMap(node)) return;
      const keys = Object.keys(node);
      if (keys.length === 0 && path.length) set.add(path);
      for (const k of keys) {
        if (k === ".") set.add(path);
        else walk(node[k], [...path, k]);
      }
    };
    walk(tree, []);
    return set;
  }
}

/** `.spec.template.spec.containers[name="web"].image`, as structured-merge-diff prints a path. */
export function pathString(p: FieldPath): string {
  return p
    .map((el) => {
      const body = el.slice(2);
      if (el.startsWith("f:")) return `.${body}`;
      if (el.startsWith("k:")) {
        const k = JSON.parse(body) as JMap;
        return `[${Object.entries(k)
          .map(([n, v]) => `${n}=${JSON.stringify(v)}`)
          .join(",")}]`;
      }
      return `[=${body}]`;
    })
    .join("");
}

type TypeRef = Pick<ResourceType, "group" | "kind">;

function itemKey(item: JMap, lt: Extract<ListType, { type: "map" }>): string {
  const key: JMap = {};
  for (const k of [...lt.keys].sort()) {
    const v = item[k] ?? lt.defaults?.[k];
    if (v !== undefined) key[k] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

const isAtomicMap = (name: string | undefined) => name === "selector";

/** Top-level fields the server owns (never in a manager's set), as upstream's stripmeta. */
const STRIPPED_META = [
  "name",
  "namespace",
  "creationTimestamp",
  "selfLink",
  "uid",
  "generation",
  "managedFields",
  "resourceVersion",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

/** The fields an object sets. `status` is skipped unless `withStatus`. */
export function fieldsOf(t: TypeRef, obj: JMap, opts: { withStatus?: boolean; onlyStatus?: boolean } = {}): FieldSet {
  const set = new FieldSet();
  const walk = (value: J, typePath: string[], path: FieldPath) => {
    if (isMap(value) && !isAtomicMap(typePath[typePath.length - 1])) {
      const entries = Object.entries(value);
      if (!entries.length && path.length) set.add(path);
      for (const [k, v] of entries) walk(v, [...typePath, k], [...path, `f:${k}`]);
    } else if (Array.isArray(value)) {
      const lt = listTypeAt(t, typePath);
      if (lt.type === "map") {
        for (const item of value) {
          if (!isMap(item)) continue;
          const ip = [...path, itemKey(item, lt)];
          set.add(ip);
          for (const [k, v] of Object.entries(item)) walk(v, [...typePath, k], [...ip, `f:${k}`]);
        }
      } else if (lt.type === "set") {
        for (const v of value) set.add([...path, `v:${JSON.stringify(v)}`]);
      } else set.add(path);
    } else if (path.length) set.add(path);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (k === "status" ? !(opts.withStatus || opts.onlyStatus) : opts.onlyStatus) continue;
    if (k === "metadata" && isMap(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!STRIPPED_META.includes(mk)) walk(mv, ["metadata", mk], ["f:metadata", `f:${mk}`]);
      continue;
    }
    walk(v, [k], [`f:${k}`]);
  }
  return set;
}

/** The value at a field path, or undefined when absent. Set members resolve to `true`. */
export function valueAt(t: TypeRef, obj: J, p: FieldPath): J {
  let cur: J = obj;
  const typePath: string[] = [];
  for (const el of p) {
    if (el.startsWith("f:")) {
      if (!isMap(cur)) return undefined;
      typePath.push(el.slice(2));
      cur = cur[el.slice(2)];
    } else if (el.startsWith("k:")) {
      if (!Array.isArray(cur)) return undefined;
      const lt = listTypeAt(t, typePath);
      if (lt.type !== "map") return undefined;
      cur = cur.find((item) => isMap(item) && itemKey(item, lt) === el);
    } else {
      if (!Array.isArray(cur)) return undefined;
      const v = JSON.parse(el.slice(2)) as J;
      return cur.some((x) => deepEqual(x, v)) ? true : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Remove the field at a path (a map key, a keyed list item, a set member). */
export function removeAt(t: TypeRef, obj: JMap, p: FieldPath): void {
  if (!p.length) return;
  const parent = valueAt(t, obj, p.slice(0, -1));
  const last = p[p.length - 1]!;
  const typePath = p.filter((e) => e.startsWith("f:")).map((e) => e.slice(2));
  if (last.startsWith("f:")) {
    if (isMap(parent)) delete parent[last.slice(2)];
  } else if (last.startsWith("k:") && Array.isArray(parent)) {
    const lt = listTypeAt(t, typePath);
    if (lt.type !== "map") return;
    const i = parent.findIndex((item) => isMap(item) && itemKey(item, lt) === last);
    if (i >= 0) parent.splice(i, 1);
  } else if (last.startsWith("v:") && Array.isArray(parent)) {
    const v = JSON.parse(last.slice(2)) as J;
    const i = parent.findIndex((x) => deepEqual(x, v));
    if (i >= 0) parent.splice(i, 1);
  }
}

/** Merge an applied configuration into a live object: maps recursively, keyed lists by key, sets by value, the rest replaced. */
export function mergeApplied(t: TypeRef, live: J, applied: J, typePath: string[] = []): J {
  if (isMap(applied) && isMap(live) && !isAtomicMap(typePath[typePath.length - 1])) {
    const out: JMap = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = k in live ? mergeApplied(t, live[k], v, [...typePath, k]) : structuredClone(v);
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const lt = listTypeAt(t, typePath);
    if (lt.type === "map") {
      const out = [...live];
      for (const item of applied) {
        if (!isMap(item)) continue;
        const key = itemKey(item, lt);
        const i = out.findIndex((x) => isMap(x) && itemKey(x, lt) === key);
        if (i >= 0) out[i] = mergeApplied(t, out[i], item, typePath);
        else out.push(structuredClone(item));
      }
      return out;
    }
    if (lt.type === "set") return [...live, ...applied.filter((v) => !live.some((x) => deepEqual(x, v)))];
  }
  return structuredClone(applied);
}
