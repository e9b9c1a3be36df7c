/**
 * Label selectors (equality- and set-based, as in `?labelSelector=` and `metav1.LabelSelector`) and field
 * selectors (`?fieldSelector=`, only on the fields the real server indexes for each kind).
 */
import type { KObject } from "../store.ts";
import { badRequest } from "./status.ts";

export type Requirement =
  | { key: string; op: "exists" | "!exists" }
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] };

export type Labels = Record<string, string> | undefined;

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== "");
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Parse `app=web,tier in (a,b),!canary` into requirements; a malformed selector is a 400 as on a real server. */
export function parseLabelSelector(selector: string): Requirement[] {
  const reqs: Requirement[] = [];
  for (const part of splitTop(selector)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^!\s*(\S+)$/))) reqs.push({ key: m[1]!, op: "!exists" });
    else if ((m = part.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      reqs.push({
        key: m[1]!,
        op: m[2] as "in" | "notin",
        values: m[3]!
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v !== ""),
      });
    } else if ((m = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      reqs.push({ key: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! });
    } else if ((m = part.match(/^(\S+)$/))) reqs.push({ key: m[1]!, op: "exists" });
    else throw badRequest(`unable to parse requirement: found '${part}', expected: valid label selector`);
  }
  for (const r of reqs) if (!KEY.test(r.key)) throw badRequest(`unable to parse requirement: invalid label key "${r.key}"`);
  return reqs;
}

export function matchesRequirements(reqs: Requirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
        return has && l[r.key] === r.value;
      case "!=":
        return !has || l[r.key] !== r.value;
      case "in":
        return has && r.values.includes(l[r.key]!);
      case "notin":
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

/** Requirements of a `metav1.LabelSelector` object (an empty selector matches everything). */
export function requirementsOf(sel: LabelSelector): Requirement[] {
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({ key, op: "=", value }));
  for (const e of sel.matchExpressions ?? []) {
    const ops = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" } as const;
    const op = ops[e.operator];
    if (op === "in" || op === "notin") reqs.push({ key: e.key, op, values: e.values ?? [] });
    else reqs.push({ key: e.key, op });
  }
  return reqs;
}

export const matchesLabelSelector = (sel: LabelSelector, labels: Labels): boolean => matchesRequirements(requirementsOf(sel), labels);

/** The fields each kind may be selected on, beyond metadata.name and metadata.namespace (as indexed upstream). */
const FIELD_LABELS: Record<string, string[]> = {
  Pod: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  Event: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "deprecatedSource",
  ],
  Secret: ["type"],
  Namespace: ["status.phase"],
  Node: ["spec.unschedulable"],
  ReplicaSet: ["status.replicas"],
  Job: ["status.successful"],
};

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export function parseFieldSelector(selector: string, kind: string): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  for (const part of splitTop(selector)) {
    const m = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1]!;
    if (field !== "metadata.name" && field !== "metadata.namespace" && !(FIELD_LABELS[kind] ?? []).includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    reqs.push({ field, op: m[2] === "!=" ? "!=" : "=", value: m[3]!.trim() });
  }
  return reqs;
}

function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split(".")) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[seg] : undefined;
  if (cur === undefined || cur === null) return "";
  return String(cur);
}

export const matchesFields = (reqs: FieldRequirement[], obj: KObject): boolean =>
  reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === "="));
