/**
 * `metadata.managedFields`: who owns which fields. Updates (create, PUT, non-apply PATCH) move the fields they
 * change to their manager (operation "Update"); server-side apply (operation "Apply") owns exactly the fields in
 * the applied configuration, conflicts with other owners whose value it would change (409 unless `force`),
 * and removes the fields it stops applying when nobody else owns them.
 * Reference: structured-merge-diff's merge.Updater and k8s.io/apimachinery/pkg/util/managedfields.
 */
import type { KObject, ResourceType } from "../store.ts";
import { ApiError, badRequest } from "../api/status.ts";
import { deepEqual } from "../patch/strategic.ts";
import { FieldSet, fieldsOf, mergeApplied, pathString, removeAt, valueAt, type FieldPath } from "./fieldset.ts";

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: object;
  subresource?: string;
}

interface Entry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  subresource?: string;
  set: FieldSet;
}

type TypeRef = Pick<ResourceType, "group" | "version" | "kind" | "subresources">;

function decode(raw: unknown): Entry[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((e: Partial<ManagedFieldsEntry>) => {
    if (!e || typeof e.manager !== "string") return [];
    const entry: Entry = {
      manager: e.manager,
      operation: e.operation === "Apply" ? "Apply" : "Update",
      apiVersion: e.apiVersion ?? "",
      time: e.time ?? "",
      set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}),
    };
    if (e.subresource) entry.subresource = e.subresource;
    return [entry];
  });
}

function encode(entries: Entry[]): ManagedFieldsEntry[] {
  return entries
    .filter((e) => e.set.size > 0)
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: "FieldsV1" as const,
      fieldsV1: e.set.toFieldsV1(),
      ...(e.subresource ? { subresource: e.subresource } : {}),
    }));
}

const sameSlot = (e: Entry, manager: string, operation: string, subresource?: string) =>
  e.manager === manager && e.operation === operation && (e.subresource ?? "") === (subresource ?? "");

function slot(
  entries: Entry[],
  manager: string,
  operation: "Apply" | "Update",
  apiVersion: string,
  time: string,
  subresource?: string,
): Entry {
  let e = entries.find((x) => sameSlot(x, manager, operation, subresource));
  if (!e) {
    e = { manager, operation, apiVersion, time, set: new FieldSet() };
    if (subresource) e.subresource = subresource;
    entries.push(e);
  }
  e.apiVersion = apiVersion;
  e.time = time;
  return e;
}

/** A path whose value is compared (a leaf), rather than a list item or a non-empty map that is only a member. */
function isLeaf(t: TypeRef, obj: object, p: FieldPath): boolean {
  if (p[p.length - 1]?.startsWith("k:")) return false;
  const v = valueAt(t, obj, p);
  return !(typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0);
}

const hasStatusSubresource = (t: TypeRef) => (t.subresources ?? []).includes("status");

function fieldOpts(t: TypeRef, subresource?: string) {
  return subresource === "status" ? { onlyStatus: true } : { withStatus: !hasStatusSubresource(t) };
}

/**
 * Record an update by `manager` on `after` (mutated): the fields it added or changed become its own and leave
 * other managers; fields it removed leave everyone.
 */
export function recordUpdate(
  t: TypeRef,
  before: KObject | undefined,
  after: KObject,
  manager: string,
  time: string,
  subresource?: string,
): void {
  const entries = decode(after.metadata.managedFields ?? before?.metadata.managedFields);
  const opts = fieldOpts(t, subresource);
  const beforeSet = before ? fieldsOf(t, before, opts) : new FieldSet();
  const afterSet = fieldsOf(t, after, opts);
  const changed = new FieldSet(
    [...afterSet].filter((p) => !beforeSet.has(p) || (isLeaf(t, after, p) && !deepEqual(valueAt(t, before, p), valueAt(t, after, p)))),
  );
  const removed = beforeSet.minus(afterSet);
  if (changed.size === 0 && removed.size === 0 && after.metadata.managedFields) return;
  for (const e of entries) {
    for (const p of changed) e.set.delete(p);
    for (const p of removed) e.set.delete(p);
  }
  const mine = slot(entries, manager, "Update", `${t.group ? t.group + "/" : ""}${t.version}`, time, subresource);
  for (const p of changed) mine.set.add(p);
  after.metadata.managedFields = encode(entries);
}

function printManager(e: Entry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === "Update") s += e.time ? ` using ${e.apiVersion} at ${e.time}` : ` using ${e.apiVersion}`;
  return s;
}

function conflictError(conflicts: Array<{ entry: Entry; path: FieldPath }>): ApiError {
  const causes = conflicts.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${printManager(c.entry)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.entry)}: ${pathString(conflicts[0]!.path)}`;
  } else {
    const byManager = new Map<string, { entry: Entry; paths: FieldPath[] }>();
    for (const c of conflicts) {
      const k = JSON.stringify([c.entry.manager, c.entry.operation, c.entry.subresource]);
      const g = byManager.get(k) ?? { entry: c.entry, paths: [] };
      g.paths.push(c.path);
      byManager.set(k, g);
    }
    const lines: string[] = [];
    for (const g of [...byManager.values()].sort((a, b) => a.entry.manager.localeCompare(b.entry.manager))) {
      lines.push(`conflicts with ${printManager(g.entry)}:`);
      for (const p of g.paths) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, { causes });
}

export interface ApplyOptions {
  manager: string;
  force: boolean;
  time: string;
  subresource?: string;
}

/**
 * Server-side apply of `applied` onto `live` (undefined: the object is created). Returns the resulting object
 * with its managedFields; throws 409 Conflict naming the managers and fields when another manager owns a field
 * this apply would change and `force` is false.
 */
export function serverSideApply(t: TypeRef, live: KObject | undefined, applied: KObject, o: ApplyOptions): KObject {
  if (!o.manager) throw badRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set");
  const opts = fieldOpts(t, o.subresource);
  const entries = decode(live?.metadata.managedFields);
  const newSet = fieldsOf(t, applied, opts);

  if (live) {
    const conflicts: Array<{ entry: Entry; path: FieldPath }> = [];
    for (const p of newSet) {
      if (!isLeaf(t, applied, p)) continue;
      for (const e of entries) {
        if (sameSlot(e, o.manager, "Apply", o.subresource) || !e.set.has(p)) continue;
        if (!deepEqual(valueAt(t, live, p), valueAt(t, applied, p))) conflicts.push({ entry: e, path: p });
      }
    }
    if (conflicts.length && !o.force) throw conflictError(conflicts);
    for (const c of conflicts) c.entry.set.delete(c.path);
  }

  // What this apply may touch: status only through /status, never through the main resource.
  const scoped: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(applied)) {
    if (o.subresource === "status" ? k === "status" : !(k === "status" && hasStatusSubresource(t))) scoped[k] = v;
  }
  const base: KObject = live ?? { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: applied.metadata.name } };
  const result = mergeApplied(t, base, scoped) as KObject;
  result.apiVersion = base.apiVersion;
  result.kind = base.kind;

  const mine = slot(entries, o.manager, "Apply", `${t.group ? t.group + "/" : ""}${t.version}`, o.time, o.subresource);
  const dropped = mine.set.minus(newSet);
  const ownedByOthers = (p: FieldPath) => entries.some((e) => e !== mine && e.set.has(p));
  const toRemove = [...dropped].filter((p) => !ownedByOthers(p)).sort((a, b) => b.length - a.length);
  for (const p of toRemove) removeAt(t, result as unknown as Record<string, unknown>, p);
  mine.set = newSet;
  result.metadata.managedFields = encode(entries);
  return result;
}
