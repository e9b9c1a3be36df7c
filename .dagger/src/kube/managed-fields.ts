/**
 * Who changed an object: its metadata.managedFields, which the API server keeps on every write (the field manager is
 * the writer's `fieldManager`, or its user agent up to the first "/"). release-gate writes as FIELD_MANAGER, so a
 * change it did not make names its author here: "kubectl-set", "argocd-controller", "kubectl-client-side-apply"…
 */
import type * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER } from "./labels.ts";

/** A field path as managedFields spells it: ["f:spec", "f:template"], ["f:metadata", "f:annotations", "f:a/b"]. */
export type FieldPath = readonly string[];

export interface Manager {
  manager: string;
  operation: string;
  /** When it last wrote (the API server's clock, second precision), if recorded. */
  time?: string;
}

function owns(fields: unknown, path: FieldPath): boolean {
  let node = fields;
  for (const key of path) {
    if (!node || typeof node !== "object" || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/**
 * The managers other than release-gate that own a field under one of `paths` (every field when none is given), the
 * most recent writer first: who made the change release-gate did not make.
 */
export function otherManagers(obj: { metadata?: k8s.V1ObjectMeta } | undefined, paths: FieldPath[] = []): Manager[] {
  const entries = obj?.metadata?.managedFields ?? [];
  return entries
    .filter((e) => e.manager && e.manager !== FIELD_MANAGER)
    .filter((e) => paths.length === 0 || paths.some((p) => owns(e.fieldsV1, p)))
    .map((e) => ({ manager: e.manager!, operation: e.operation ?? "Update", ...(e.time ? { time: String(toIso(e.time)) } : {}) }))
    .sort((a, b) => (b.time ?? "").localeCompare(a.time ?? ""));
}

const toIso = (t: unknown): string => (t instanceof Date ? t.toISOString() : String(t));

/**
 * Who changed it last, in words: `"kubectl-set" (Update at 2026-03-02T10:04:05Z)`, or why that cannot be told. Only the
 * newest writer is named: older ones (the manifests' apply) own other fields of the same object.
 */
export function describeChanger(obj: { metadata?: k8s.V1ObjectMeta } | undefined, paths: FieldPath[] = []): string {
  const [latest] = otherManagers(obj, paths);
  if (!latest) {
    return obj?.metadata?.managedFields?.length
      ? "a writer the API server recorded as release-gate (another release-gate run?)"
      : "an unknown writer (the object carries no managedFields)";
  }
  return `"${latest.manager}" (${latest.operation}${latest.time ? ` at ${latest.time}` : ""})`;
}
