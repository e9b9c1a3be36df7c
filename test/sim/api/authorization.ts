/**
 * Authentication and RBAC authorization, as kube-apiserver does them for the requests the simulator serves:
 *
 * - Authentication: a bearer token named in a kubeconfig maps to a user and groups (like a static token file or
 *   EKS's access entries); an unknown token is 401. A request with no credentials is the simulator's admin (the
 *   role of kind's admin client certificate), so the admin kubeconfig and raw HTTP tests keep working.
 * - Authorization: members of `system:masters` may do anything; everyone else is allowed exactly what the Roles,
 *   ClusterRoles, RoleBindings and ClusterRoleBindings stored in the simulator grant (rbac/v1 rule matching:
 *   verbs, apiGroups, resources with `resource/subresource`, resourceNames, `*`), plus the discovery and version
 *   endpoints every authenticated user reads (the bootstrap `system:discovery` role). A list or watch with
 *   `fieldSelector=metadata.name=X` is authorized as naming X, as the real request-info factory does.
 *
 * Every decision for a non-admin identity is recorded (with the rule that allowed it), so tests can compare what
 * a pipeline run really asked for with what its Role grants.
 */
import type { IncomingMessage } from "node:http";
import { randomBytes } from "node:crypto";
import type { KObject, Store } from "../store.ts";
import type { ResourceRequest } from "./routing.ts";
import { ApiError } from "./status.ts";

export interface Identity {
  user: string;
  groups: string[];
}

export const ADMIN: Identity = { user: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };

/** What a request asks for, in RBAC's terms. */
export interface Attributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** For non-resource requests (discovery, /version). */
  path?: string;
}

export interface Decision extends Attributes {
  user: string;
  allowed: boolean;
  /** The rule that allowed it: `Role production/release-gate rules[2]`. */
  rule?: string;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

const ROLES = "rbac.authorization.k8s.io/v1/roles";
const CLUSTER_ROLES = "rbac.authorization.k8s.io/v1/clusterroles";
const ROLE_BINDINGS = "rbac.authorization.k8s.io/v1/rolebindings";
const CLUSTER_ROLE_BINDINGS = "rbac.authorization.k8s.io/v1/clusterrolebindings";

/** Non-resource paths the bootstrap roles system:discovery and system:public-info-viewer open to everyone authenticated. */
const DISCOVERY = [/^\/api(\/|$)/, /^\/apis(\/|$)/, /^\/version\/?$/, /^\/openapi\//, /^\/openapi\/?$/, /^\/(healthz|livez|readyz)\/?$/];

export class Authorizer {
  private readonly tokens = new Map<string, Identity>();
  private readonly store: Store;
  readonly decisions: Decision[] = [];

  constructor(store: Store) {
    this.store = store;
  }

  /** A new bearer token for `identity` (as a static token file or an EKS access entry would map it). */
  issueToken(identity: Identity): string {
    const token = `sim-${randomBytes(18).toString("base64url")}`;
    this.tokens.set(token, { user: identity.user, groups: [...new Set([...identity.groups, "system:authenticated"])] });
    return token;
  }

  /**
   * Who the request acts as: the token's identity, the admin when there are no credentials (401 for an unknown
   * token); then, with Impersonate-User / Impersonate-Group headers (kubectl --as / --as-group), the impersonated
   * identity, if the sender may impersonate it. kubectl sends no bearer token over plain HTTP, so on the simulator
   * it takes an identity by impersonation, as an admin does on a real cluster.
   */
  authenticate(req: IncomingMessage): Identity {
    const header = req.headers.authorization;
    let identity: Identity | undefined = ADMIN;
    if (header) {
      const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      identity = token ? this.tokens.get(token) : undefined;
      if (!identity) throw new ApiError(401, "Unauthorized", "Unauthorized");
    }
    const user = req.headersDistinct["impersonate-user"]?.[0];
    const groups = req.headersDistinct["impersonate-group"] ?? [];
    if (user === undefined) {
      if (groups.length) throw new ApiError(500, "InternalError", "requested [group] without impersonating a user");
      return identity;
    }
    this.authorize(identity, { verb: "impersonate", apiGroup: "", resource: "users", name: user });
    for (const g of groups) this.authorize(identity, { verb: "impersonate", apiGroup: "", resource: "groups", name: g });
    return { user, groups: [...new Set([...groups, "system:authenticated"])] };
  }

  /** Throws 403 Forbidden (as the real server words it) unless `who` may make the request. */
  authorize(who: Identity, attrs: Attributes): void {
    if (who.groups.includes("system:masters")) return;
    const rule = attrs.path !== undefined ? this.nonResource(attrs) : this.findRule(who, attrs);
    this.decisions.push({ ...attrs, user: who.user, allowed: rule !== undefined, ...(rule ? { rule } : {}) });
    if (rule === undefined) throw forbidden(who, attrs);
  }

  private nonResource(attrs: Attributes): string | undefined {
    return attrs.verb === "get" && DISCOVERY.some((re) => re.test(attrs.path!)) ? "ClusterRole system:discovery" : undefined;
  }

  private findRule(who: Identity, attrs: Attributes): string | undefined {
    const bindings: Array<{ binding: KObject; namespace?: string }> = [
      ...this.store.list(CLUSTER_ROLE_BINDINGS).items.map((binding) => ({ binding })),
      ...(attrs.namespace
        ? this.store.list(ROLE_BINDINGS, attrs.namespace).items.map((binding) => ({ binding, namespace: attrs.namespace }))
        : []),
    ];
    for (const { binding, namespace } of bindings) {
      const subjects = ((binding as { subjects?: Subject[] }).subjects ?? []) as Subject[];
      if (!subjects.some((s) => subjectMatches(s, who, binding.metadata.namespace))) continue;
      const ref = (binding as { roleRef?: { kind: string; name: string } }).roleRef;
      if (!ref) continue;
      // A ClusterRole bound by a RoleBinding grants its rules in that namespace only.
      const role =
        ref.kind === "ClusterRole"
          ? this.store.get(CLUSTER_ROLES, undefined, ref.name)
          : namespace
            ? this.store.get(ROLES, namespace, ref.name)
            : undefined;
      const rules = ((role as { rules?: PolicyRule[] } | undefined)?.rules ?? []) as PolicyRule[];
      const i = rules.findIndex((r) => ruleAllows(r, attrs));
      if (i >= 0) return `${ref.kind} ${ref.kind === "Role" ? `${namespace}/` : ""}${ref.name} rules[${i}]`;
    }
    return undefined;
  }

  /** Attributes of a routed resource request; list/watch naming one object by field selector count as naming it. */
  static attributes(r: ResourceRequest, query: URLSearchParams): Attributes {
    let name = r.name;
    if (name === undefined && (r.verb === "list" || r.verb === "watch")) {
      const m = /^metadata\.name==?([^,]+)$/.exec(query.get("fieldSelector") ?? "");
      if (m) name = m[1];
    }
    return {
      verb: r.verb,
      apiGroup: r.type.group,
      resource: r.type.plural,
      ...(r.subresource ? { subresource: r.subresource } : {}),
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(name !== undefined ? { name } : {}),
    };
  }
}

function subjectMatches(s: Subject, who: Identity, bindingNamespace: string | undefined): boolean {
  if (s.kind === "User") return s.name === who.user;
  if (s.kind === "Group") return who.groups.includes(s.name);
  if (s.kind === "ServiceAccount") return who.user === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
  return false;
}

/** rbac/v1 RuleAllows: verb, group, resource (with subresource) and, when listed, the object's name. */
function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === "*" || x === v);
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resourceOk = a.subresource
    ? resources.some((r) => r === "*" || r === combined || r === `*/${a.subresource}`)
    : resources.some((r) => r === "*" || r === a.resource);
  if (!resourceOk) return false;
  if (!rule.resourceNames?.length) return true;
  return a.name !== undefined && rule.resourceNames.includes(a.name);
}

function forbidden(who: Identity, a: Attributes): ApiError {
  if (a.path !== undefined) {
    return new ApiError(403, "Forbidden", `forbidden: User "${who.user}" cannot ${a.verb} path "${a.path}"`, {});
  }
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return new ApiError(
    403,
    "Forbidden",
    `${qualified}${a.name !== undefined ? ` "${a.name}"` : ""} is forbidden: ` +
      `User "${who.user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`,
    { ...(a.name !== undefined ? { name: a.name } : {}), ...(a.apiGroup ? { group: a.apiGroup } : {}), kind: a.resource },
  );
}
