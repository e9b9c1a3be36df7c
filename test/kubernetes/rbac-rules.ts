/**
 * From requests to RBAC rules and back: the grants a Role's rules make (one per verb and object name), which of
 * them a set of recorded requests used, and the minimal rules that allow exactly those requests. Used by
 * rbac.test.ts and by `npm run rbac:derive` (scripts/derive-rbac.ts) to rebuild kubernetes/production/rbac.yaml.
 */
import { parseAllDocuments } from "yaml";

/** One authorization decision as the simulator records it (test/sim/api/authorization.ts). */
export interface RecordedRequest {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  allowed: boolean;
}

export interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** One thing a rule allows: a verb on a resource, for one named object or (name "*") any. */
export interface Grant {
  where: string;
  apiGroup: string;
  resource: string;
  verb: string;
  name: string;
}

export function grantsOf(rbacYaml: string): Grant[] {
  const out: Grant[] = [];
  for (const doc of parseAllDocuments(rbacYaml).map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: Rule[] })) {
    if (doc.kind !== "Role" && doc.kind !== "ClusterRole") continue;
    (doc.rules ?? []).forEach((r, i) => {
      for (const apiGroup of r.apiGroups)
        for (const resource of r.resources)
          for (const verb of r.verbs)
            for (const name of r.resourceNames?.length ? r.resourceNames : ["*"])
              out.push({ where: `${doc.kind} ${doc.metadata.name} rules[${i}]`, apiGroup, resource, verb, name });
    });
  }
  return out;
}

const resourceOf = (r: RecordedRequest) => (r.subresource ? `${r.resource}/${r.subresource}` : r.resource);
const grantKey = (g: Pick<Grant, "apiGroup" | "resource" | "verb" | "name">) => `${g.verb} ${g.apiGroup || "core"}/${g.resource} ${g.name}`;

/** Grants no recorded request needed: each is a permission the pipeline never uses. */
export function unusedGrants(grants: Grant[], requests: RecordedRequest[]): Grant[] {
  return grants.filter(
    (g) =>
      !requests.some(
        (r) =>
          r.allowed &&
          r.verb === g.verb &&
          r.apiGroup === g.apiGroup &&
          resourceOf(r) === g.resource &&
          (g.name === "*" ? true : r.name === g.name),
      ),
  );
}

/**
 * The fewest rules that allow every request: by name wherever every request of that verb and resource names its
 * object, else for any object; rules with the same resource and names share one verb list.
 */
export function minimalRules(requests: RecordedRequest[]): Rule[] {
  const byVerb = new Map<string, { apiGroup: string; resource: string; verb: string; names: Set<string> | "any" }>();
  for (const r of requests) {
    const key = `${r.apiGroup}|${resourceOf(r)}|${r.verb}`;
    const entry = byVerb.get(key) ?? { apiGroup: r.apiGroup, resource: resourceOf(r), verb: r.verb, names: new Set<string>() };
    if (r.name === undefined) entry.names = "any";
    else if (entry.names !== "any") entry.names.add(r.name);
    byVerb.set(key, entry);
  }
  const merged = new Map<string, Rule>();
  for (const e of [...byVerb.values()].sort((a, b) => grantKey({ ...a, name: "" }).localeCompare(grantKey({ ...b, name: "" })))) {
    const names = e.names === "any" ? undefined : [...e.names].sort();
    const key = `${e.apiGroup}|${e.resource}|${names?.join(",") ?? "*"}`;
    const rule = merged.get(key) ?? {
      apiGroups: [e.apiGroup],
      resources: [e.resource],
      ...(names ? { resourceNames: names } : {}),
      verbs: [],
    };
    rule.verbs.push(e.verb);
    merged.set(key, rule);
  }
  return [...merged.values()];
}

export function describeGrant(g: Grant): string {
  return `${g.where}: ${grantKey(g)}`;
}

export function describeRequest(r: RecordedRequest): string {
  return `${r.verb} ${r.apiGroup || "core"}/${resourceOf(r)} ${r.name ?? "(any)"}${r.namespace ? ` in ${r.namespace}` : ""}`;
}
