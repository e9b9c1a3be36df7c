/**
 * Everyday kubectl commands against the simulated API server: get (json/yaml/name, label selectors), set image,
 * scale, patch with each patch type, annotate, create (duplicate), validation errors, delete with garbage
 * collection. Expected outputs are kubectl's messages and the API's documented semantics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startApiFixture, type ApiFixture } from "./fixture.ts";

let api: ApiFixture;
beforeAll(async () => {
  api = await startApiFixture();
  const objects = [
    deployment("web", { app: "web", tier: "frontend" }),
    deployment("worker", { app: "worker", tier: "backend" }),
    deployment("web-canary", { app: "web-canary", tier: "frontend", canary: "true" }),
  ];
  const r = await api.kubectl.run(["create", "-f", "-"], { input: objects.join("\n---\n") });
  expect(r.stderr).toBe("");
});
afterAll(async () => api?.close());

const kubectl = (...args: string[]) => api.kubectl.run(args);
const getJson = async (...args: string[]) => JSON.parse((await kubectl("get", ...args, "-o", "json")).stdout);

/** YAML (so that several can be joined with ---): kubectl reads JSON documents only one at a time. */
function deployment(name: string, labels: Record<string, string>): string {
  return stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: labels.app } },
      template: {
        metadata: { labels: { app: labels.app } },
        spec: {
          containers: [
            {
              name: "main",
              image: `${name}:1`,
              env: [
                { name: "MODE", value: "a" },
                { name: "LEVEL", value: "1" },
              ],
            },
          ],
        },
      },
    },
  });
}

describe("kubectl get", () => {
  it("-o json returns the object with server-set metadata and defaults", async () => {
    const d = await getJson("deployment", "web");
    expect(d.kind).toBe("Deployment");
    expect(d.apiVersion).toBe("apps/v1");
    expect(d.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(d.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(d.metadata.generation).toBe(1);
    // Documented Deployment defaults.
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } });
    expect(d.spec.revisionHistoryLimit).toBe(10);
    expect(d.spec.progressDeadlineSeconds).toBe(600);
  });

  it("-o yaml of a list", async () => {
    const list = parse((await kubectl("get", "deployments", "-o", "yaml")).stdout);
    expect(list.kind).toBe("List");
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["web", "web-canary", "worker"]);
  });

  it("label selectors: equality, set-based in/notin, existence and its negation", async () => {
    const names = async (selector: string) =>
      (await kubectl("get", "deployments", "-l", selector, "-o", "name")).stdout.split("\n").filter(Boolean);
    expect(await names("tier=frontend")).toEqual(["deployment.apps/web", "deployment.apps/web-canary"]);
    expect(await names("tier!=frontend")).toEqual(["deployment.apps/worker"]);
    expect(await names("app in (web,worker)")).toEqual(["deployment.apps/web", "deployment.apps/worker"]);
    expect(await names("tier notin (frontend)")).toEqual(["deployment.apps/worker"]);
    expect(await names("canary")).toEqual(["deployment.apps/web-canary"]);
    expect(await names("tier=frontend,!canary")).toEqual(["deployment.apps/web"]);
  });

  it("field selector on metadata.name, and an unsupported field label is refused", async () => {
    expect((await kubectl("get", "deployments", "--field-selector", "metadata.name=worker", "-o", "name")).stdout).toBe(
      "deployment.apps/worker",
    );
    const bad = await kubectl("get", "deployments", "--field-selector", "spec.replicas=1");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("field label not supported: spec.replicas");
  });

  it("a table for humans: kubectl's columns for Deployments", async () => {
    const out = (await kubectl("get", "deployment", "web")).stdout.split("\n");
    expect(out[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(out[1]).toMatch(/^web\s+0\/1\s+0\s+0\s+\S+$/);
  });

  it("get -w prints kubectl's table line for each change", async () => {
    const watch = api.kubectl.start(["get", "deployment", "worker", "-w"]);
    const lines: string[] = [];
    let buf = "";
    let wake = () => {};
    watch.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
      wake();
    });
    const waitLines = async (n: number) => {
      while (lines.length < n) await new Promise<void>((resolve) => (wake = resolve));
    };
    await waitLines(2);
    await kubectl("label", "deployment", "worker", "watched=yes");
    await waitLines(3);
    watch.kill();
    await watch;
    expect(lines[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(lines[1]).toMatch(/^worker\s+0\/1\s+0\s+0\s+\S+$/);
    expect(lines[2]).toMatch(/^worker\s+0\/1\s+0\s+0\s+\S+$/);
    expect(lines).toHaveLength(3);
  });

  it("get all uses the 'all' category; -L adds label columns from the table rows' metadata", async () => {
    const all = (await kubectl("get", "all", "-o", "name")).stdout.split("\n");
    expect(all).toEqual(expect.arrayContaining(["deployment.apps/web", "deployment.apps/worker"]));
    expect(all.some((l) => l.startsWith("configmap/"))).toBe(false);
    const out = (await kubectl("get", "deployments", "-L", "tier")).stdout.split("\n");
    expect(out[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+TIER$/);
    expect(out.find((l) => l.startsWith("worker "))).toMatch(/\sbackend$/);
  });

  it("a missing object: NotFound", async () => {
    const r = await kubectl("get", "deployment", "nope");
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server (NotFound): deployments.apps "nope" not found');
  });
});

describe("kubectl changes", () => {
  it("set image bumps generation and changes only that container's image", async () => {
    const before = await getJson("deployment", "web");
    const r = await kubectl("set", "image", "deployment/web", "main=web:2");
    expect(r.stdout).toBe("deployment.apps/web image updated");
    const after = await getJson("deployment", "web");
    expect(after.spec.template.spec.containers[0].image).toBe("web:2");
    expect(after.spec.template.spec.containers[0].env).toEqual(before.spec.template.spec.containers[0].env);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
  });

  it("scale goes through the scale subresource", async () => {
    expect((await kubectl("scale", "deployment/web", "--replicas=4")).stdout).toBe("deployment.apps/web scaled");
    expect((await getJson("deployment", "web")).spec.replicas).toBe(4);
    const scale = await getJson("deployment", "web", "--subresource=scale");
    expect(scale.kind).toBe("Scale");
    expect(scale.apiVersion).toBe("autoscaling/v1");
    expect(scale.spec.replicas).toBe(4);
    expect(scale.status.selector).toBe("app=web");
    const stale = await kubectl("scale", "deployment/web", "--replicas=5", "--resource-version=1");
    expect(stale.exitCode).toBe(1);
    // kubectl reads the Scale and checks the precondition itself (PreconditionError in kubectl/pkg/scale).
    expect(stale.stderr).toMatch(/Expected resource version to be 1, was \d+/);
  });

  it("patch --type=strategic merges the env list by name; --type=merge replaces lists whole (RFC 7386)", async () => {
    const strategic = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "main",
                env: [
                  { name: "LEVEL", value: "2" },
                  { name: "NEW", value: "x" },
                ],
              },
            ],
          },
        },
      },
    };
    expect((await kubectl("patch", "deployment", "worker", "--type=strategic", "-p", JSON.stringify(strategic))).stdout).toBe(
      "deployment.apps/worker patched",
    );
    let c = (await getJson("deployment", "worker")).spec.template.spec.containers[0];
    expect(c.env).toEqual([
      { name: "MODE", value: "a" },
      { name: "LEVEL", value: "2" },
      { name: "NEW", value: "x" },
    ]);
    expect(c.image).toBe("worker:1");

    const del = { spec: { template: { spec: { containers: [{ name: "main", env: [{ name: "MODE", $patch: "delete" }] }] } } } };
    await kubectl("patch", "deployment", "worker", "-p", JSON.stringify(del));
    c = (await getJson("deployment", "worker")).spec.template.spec.containers[0];
    expect(c.env.map((e: { name: string }) => e.name)).toEqual(["LEVEL", "NEW"]);

    const merge = { spec: { template: { spec: { containers: [{ name: "main", image: "worker:9" }] } } } };
    expect((await kubectl("patch", "deployment", "worker", "--type=merge", "-p", JSON.stringify(merge))).stdout).toBe(
      "deployment.apps/worker patched",
    );
    c = (await getJson("deployment", "worker")).spec.template.spec.containers[0];
    expect(c.image).toBe("worker:9");
    expect(c.env).toBeUndefined();
  });

  it("patch --type=json applies RFC 6902 operations; a failing test op is refused and changes nothing", async () => {
    const ops = [
      { op: "replace", path: "/spec/replicas", value: 3 },
      { op: "add", path: "/metadata/labels/track", value: "stable" },
    ];
    expect((await kubectl("patch", "deployment", "worker", "--type=json", "-p", JSON.stringify(ops))).stdout).toBe(
      "deployment.apps/worker patched",
    );
    const d = await getJson("deployment", "worker");
    expect(d.spec.replicas).toBe(3);
    expect(d.metadata.labels.track).toBe("stable");
    const failing = await kubectl(
      "patch",
      "deployment",
      "worker",
      "--type=json",
      "-p",
      JSON.stringify([
        { op: "test", path: "/spec/replicas", value: 7 },
        { op: "replace", path: "/spec/replicas", value: 8 },
      ]),
    );
    expect(failing.exitCode).toBe(1);
    expect((await getJson("deployment", "worker")).spec.replicas).toBe(3);
  });

  it("a patch that changes nothing reports no change", async () => {
    const r = await kubectl("patch", "deployment", "worker", "--type=merge", "-p", JSON.stringify({ spec: { replicas: 3 } }));
    expect(r.stdout).toBe("deployment.apps/worker patched (no change)");
  });

  it("annotate adds, refuses to overwrite without --overwrite, and removes with key-", async () => {
    expect((await kubectl("annotate", "deployment", "web", "release-gate/phase=canary-10")).stdout).toBe("deployment.apps/web annotated");
    const again = await kubectl("annotate", "deployment", "web", "release-gate/phase=canary-50");
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(
      "--overwrite is false but found the following declared annotation(s): 'release-gate/phase' already has a value (canary-10)",
    );
    await kubectl("annotate", "deployment", "web", "--overwrite", "release-gate/phase=canary-50");
    expect((await getJson("deployment", "web")).metadata.annotations["release-gate/phase"]).toBe("canary-50");
    await kubectl("annotate", "deployment", "web", "release-gate/phase-");
    expect((await getJson("deployment", "web")).metadata.annotations?.["release-gate/phase"]).toBeUndefined();
  });

  it("replace -f sends the whole object (PUT); a stale resourceVersion in it is a Conflict", async () => {
    const d = await getJson("deployment", "worker");
    d.metadata.labels.replaced = "yes";
    const r = await api.kubectl.run(["replace", "-f", "-"], { input: JSON.stringify(d) });
    expect(r.stdout).toBe("deployment.apps/worker replaced");
    expect((await getJson("deployment", "worker")).metadata.labels.replaced).toBe("yes");
    const stale = await api.kubectl.run(["replace", "-f", "-"], { input: JSON.stringify(d) });
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr.trim()).toBe(
      'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on deployments.apps "worker": ' +
        "the object has been modified; please apply your changes to the latest version and try again",
    );
  });

  it("create of an existing object: AlreadyExists", async () => {
    const r = await api.kubectl.run(["create", "-f", "-"], { input: deployment("web", { app: "web" }) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "web" already exists');
  });

  it("an invalid Deployment: 422 with the field errors", async () => {
    const bad = parse(deployment("bad", { app: "bad" }));
    bad.spec.template.metadata.labels = { app: "other" };
    bad.spec.replicas = -1;
    const r = await api.kubectl.run(["create", "-f", "-"], { input: JSON.stringify(bad) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('The Deployment "bad" is invalid:');
    expect(r.stderr).toContain("spec.replicas: Invalid value: -1: must be greater than or equal to 0");
    expect(r.stderr).toContain(
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
    );
  });

  it("delete removes the object and, in the background, its dependents", async () => {
    const owner = await getJson("deployment", "web-canary");
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "web-canary-abc",
        labels: { app: "web-canary" },
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "web-canary",
            uid: owner.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web-canary" } },
        template: { metadata: { labels: { app: "web-canary" } }, spec: { containers: [{ name: "main", image: "x:1" }] } },
      },
    };
    expect((await api.kubectl.run(["create", "-f", "-"], { input: JSON.stringify(rs) })).exitCode).toBe(0);
    const r = await kubectl("delete", "deployment", "web-canary");
    expect(r.exitCode).toBe(0);
    // kubectl ≥ 1.33 names the namespace; older kubectl does not.
    expect(r.stdout).toMatch(/^deployment\.apps "web-canary" deleted( from default namespace)?$/);
    expect((await kubectl("get", "deployment", "web-canary")).stderr.trim()).toBe(
      'Error from server (NotFound): deployments.apps "web-canary" not found',
    );
    expect((await kubectl("get", "replicaset", "web-canary-abc")).stderr.trim()).toBe(
      'Error from server (NotFound): replicasets.apps "web-canary-abc" not found',
    );
  });

  it("kubectl create namespace/configmap/secret (typed clients sending protobuf bodies)", async () => {
    expect((await kubectl("create", "namespace", "tools")).stdout).toBe("namespace/tools created");
    expect(
      (await kubectl("-n", "tools", "create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=2")).stdout,
    ).toBe("configmap/settings created");
    expect((await kubectl("-n", "tools", "create", "secret", "generic", "token", "--from-literal=value=s3cret")).stdout).toBe(
      "secret/token created",
    );
    const cm = await getJson("-n", "tools", "configmap", "settings");
    expect(cm.data).toEqual({ mode: "fast", level: "2" });
    // ConfigMaps have no metadata.generation on a real server; Deployments do.
    expect(cm.metadata.generation).toBeUndefined();
    const secret = await getJson("-n", "tools", "secret", "token");
    expect(secret.type).toBe("Opaque");
    expect(Buffer.from(secret.data.value, "base64").toString()).toBe("s3cret");
    const dup = await kubectl("create", "namespace", "tools");
    expect(dup.stderr.trim()).toBe('Error from server (AlreadyExists): namespaces "tools" already exists');
  });

  it("namespaced objects need their namespace to exist", async () => {
    const r = await api.kubectl.run(["create", "-n", "ghost", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }),
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server (NotFound): error when creating "STDIN": namespaces "ghost" not found');
  });
});
