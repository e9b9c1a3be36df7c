/**
 * The simulator's authentication and RBAC, proven with the real kubectl and raw HTTP: a token maps to a user and
 * groups, an unknown token is 401, and what the identity may do is exactly what the stored Roles, ClusterRoles and
 * bindings grant (resourceNames, subresources, a field selector naming one object, ClusterRoles bound in one
 * namespace), refused with the real server's Forbidden message. No credentials: the admin.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorizer } from "../../api/authorization.ts";
import { startApiServer, type ApiServer } from "../../apiserver.ts";
import { writeKubeconfig } from "../../kubeconfig.ts";
import { defaultResourceTypes } from "../../resources.ts";
import { Store } from "../../store.ts";
import { kubectlFor, type KubectlRunner } from "../../../support/kubectl.ts";

const USER = "arn:aws:sts::123456789012:assumed-role/deployer/session-1";
let server: ApiServer;
let authz: Authorizer;
let dir: string;
let admin: KubectlRunner;
let deployer: KubectlRunner;
let token: string;

const deploymentYaml = (name: string) =>
  stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "team" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
    },
  });

beforeAll(async () => {
  const store = new Store(defaultResourceTypes());
  authz = new Authorizer(store);
  server = await startApiServer(store, { authorizer: authz });
  dir = await mkdtemp(join(tmpdir(), "sim-authz-"));
  await writeKubeconfig(server.url, join(dir, "admin"));
  token = authz.issueToken({ user: USER, groups: ["deployers"] });
  admin = await kubectlFor(join(dir, "admin"));
  // kubectl sends no bearer token over plain HTTP: it acts as the deployer by impersonation (--as / --as-group).
  deployer = await kubectlFor(join(dir, "admin"));
  const run = deployer.run.bind(deployer);
  deployer.run = (args, opts) => run([`--as=${USER}`, "--as-group=deployers", ...args], opts);
  const rbac = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "deploy", namespace: "team" },
      rules: [
        { apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["web"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["apps"], resources: ["deployments/scale"], resourceNames: ["web"], verbs: ["get", "patch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "deploy", namespace: "team" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "deploy" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "deployers" }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "read-configmaps" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "read-configmaps", namespace: "team" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "read-configmaps" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: USER }],
    },
  ];
  const applied = await admin.run(["apply", "-f", "-"], { input: rbac.map((o) => stringify(o)).join("---\n") });
  expect(applied.stderr).toBe("");
  for (const name of ["web", "api"]) expect((await admin.run(["apply", "-f", "-"], { input: deploymentYaml(name) })).exitCode).toBe(0);
});

afterAll(async () => {
  await admin?.dispose();
  await deployer?.dispose();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const forbidden = (what: string, verb: string, resource: string, group: string, ns: string) =>
  `Error from server (Forbidden): ${what} is forbidden: User "${USER}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${ns}"`;

describe("RBAC in the simulator, with the real kubectl", () => {
  it("allows what the Role names: get of the named Deployment", async () => {
    const r = await deployer.run(["get", "deployment", "web", "-n", "team", "-o", "name"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("deployment.apps/web");
  });

  it("refuses another name, with the real server's message", async () => {
    const r = await deployer.run(["get", "deployment", "api", "-n", "team"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(forbidden('deployments.apps "api"', "get", "deployments", "apps", "team"));
  });

  it("a list naming the object by field selector counts as naming it; a plain list does not", async () => {
    const named = await deployer.run(["get", "deployments", "-n", "team", "--field-selector", "metadata.name=web", "-o", "name"]);
    expect(named.stdout.trim()).toBe("deployment.apps/web");
    const all = await deployer.run(["get", "deployments", "-n", "team"]);
    expect(all.stderr.trim()).toBe(forbidden("deployments.apps", "list", "deployments", "apps", "team"));
  });

  it("subresources are their own resource: scale is allowed, a patch of the Deployment is not", async () => {
    expect((await deployer.run(["scale", "deployment", "web", "-n", "team", "--replicas=3"])).stderr).toBe("");
    const patch = await deployer.run(["patch", "deployment", "web", "-n", "team", "-p", '{"spec":{"replicas":1}}']);
    expect(patch.stderr.trim()).toBe(forbidden('deployments.apps "web"', "patch", "deployments", "apps", "team"));
  });

  it("a ClusterRole bound by a RoleBinding grants in that namespace only; a User subject matches by name", async () => {
    expect((await deployer.run(["get", "configmaps", "-n", "team"])).exitCode).toBe(0);
    const other = await deployer.run(["get", "configmaps", "-n", "other"]);
    expect(other.stderr.trim()).toBe(forbidden("configmaps", "list", "configmaps", "", "other"));
  });

  it("cluster-scoped requests are refused at the cluster scope", async () => {
    const r = await deployer.run(["get", "namespaces"]);
    expect(r.stderr.trim()).toBe(
      `Error from server (Forbidden): namespaces is forbidden: User "${USER}" cannot list resource "namespaces" in API group "" at the cluster scope`,
    );
  });

  it("discovery is open to every authenticated user (kubectl api-resources works)", async () => {
    const r = await deployer.run(["api-resources", "--api-group=apps", "-o", "name"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("deployments.apps");
  });

  it("records each decision with the rule that allowed it", () => {
    const scale = authz.decisions.find((d) => d.subresource === "scale" && d.verb === "patch");
    expect(scale).toMatchObject({ user: USER, allowed: true, rule: "Role team/deploy rules[1]", name: "web", namespace: "team" });
    expect(authz.decisions.some((d) => d.name === "api" && !d.allowed)).toBe(true);
  });
});

describe("authentication", () => {
  it("a bearer token acts as its identity (what client-node and the pipeline send)", async () => {
    const get = (name: string) =>
      fetch(`${server.url}/apis/apps/v1/namespaces/team/deployments/${name}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get("web")).status).toBe(200);
    const denied = await get("api");
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ reason: "Forbidden", details: { name: "api", group: "apps", kind: "deployments" } });
  });

  it("impersonation needs the right to impersonate: the deployer may not become the admin", async () => {
    const res = await fetch(`${server.url}/api/v1/namespaces`, {
      headers: { authorization: `Bearer ${token}`, "impersonate-user": "admin", "impersonate-group": "system:masters" },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain(`cannot impersonate resource "users"`);
  });

  it("an unknown token is 401 Unauthorized", async () => {
    const res = await fetch(`${server.url}/api/v1/namespaces`, { headers: { authorization: "Bearer not-a-token" } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
  });

  it("no credentials: the admin, allowed anything", async () => {
    expect((await admin.run(["delete", "deployment", "api", "-n", "team"])).exitCode).toBe(0);
  });
});
