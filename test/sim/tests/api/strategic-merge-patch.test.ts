/**
 * Strategic merge patch semantics on built-in kinds, as documented in the Kubernetes "strategic merge patch"
 * design (kubernetes/community contributors/devel/sig-api-machinery/strategic-merge-patch.md) and the
 * `patchStrategy`/`patchMergeKey` tags of k8s.io/api: lists merged by key, directives, and atomic lists.
 */
import { describe, expect, it } from "vitest";
import { applyStrategicMergePatch } from "../../patch/strategic.ts";

const deploymentType = { group: "apps", kind: "Deployment" };
const serviceType = { group: "", kind: "Service" };

function deploymentWith(containers: unknown[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", finalizers: ["a", "b"] },
    spec: { ...extra, template: { spec: { containers } } },
  };
}
const containersOf = (o: { spec?: unknown }) =>
  (o.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers;

describe("lists merged by their patch merge key", () => {
  const original = deploymentWith([
    {
      name: "app",
      image: "app:1",
      env: [
        { name: "A", value: "1" },
        { name: "B", value: "2" },
      ],
      ports: [{ containerPort: 80, name: "http" }],
      args: ["--a", "--b"],
    },
    { name: "proxy", image: "envoy:1" },
  ]);

  it("merges containers by name and env by name; appends new items; replaces lists without a merge key", () => {
    const out = applyStrategicMergePatch(deploymentType, original, {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "app",
                image: "app:2",
                env: [
                  { name: "B", value: "3" },
                  { name: "C", value: "4" },
                ],
                args: ["--c"],
              },
              { name: "log", image: "fluent:1" },
            ],
          },
        },
      },
    });
    const cs = containersOf(out);
    expect(cs.map((c) => c.name)).toEqual(["app", "proxy", "log"]);
    expect(cs[0]!.image).toBe("app:2");
    expect(cs[0]!.env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "3" },
      { name: "C", value: "4" },
    ]);
    expect(cs[0]!.args).toEqual(["--c"]);
    expect(cs[0]!.ports).toEqual([{ containerPort: 80, name: "http" }]);
  });

  it("merges container ports by containerPort", () => {
    const out = applyStrategicMergePatch(deploymentType, original, {
      spec: { template: { spec: { containers: [{ name: "app", ports: [{ containerPort: 80, name: "web" }, { containerPort: 9090 }] }] } } },
    });
    expect(containersOf(out)[0]!.ports).toEqual([{ containerPort: 80, name: "web" }, { containerPort: 9090 }]);
  });

  it("$patch: delete removes one item; null removes a field", () => {
    const out = applyStrategicMergePatch(deploymentType, original, {
      spec: {
        template: {
          spec: {
            containers: [
              { name: "proxy", $patch: "delete" },
              { name: "app", image: null },
            ],
          },
        },
      },
    });
    expect(containersOf(out)).toEqual([
      {
        name: "app",
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
        ports: [{ containerPort: 80, name: "http" }],
        args: ["--a", "--b"],
      },
    ]);
  });

  it("a {$patch: replace} item replaces the whole list", () => {
    const out = applyStrategicMergePatch(deploymentType, original, {
      spec: { template: { spec: { containers: [{ name: "only", image: "x:1" }, { $patch: "replace" }] } } },
    });
    expect(containersOf(out)).toEqual([{ name: "only", image: "x:1" }]);
  });

  it("$setElementOrder orders the merged list", () => {
    const out = applyStrategicMergePatch(deploymentType, original, {
      spec: {
        template: {
          spec: { "$setElementOrder/containers": [{ name: "proxy" }, { name: "app" }], containers: [{ name: "proxy", image: "envoy:2" }] },
        },
      },
    });
    expect(containersOf(out).map((c) => `${c.name}=${c.image}`)).toEqual(["proxy=envoy:2", "app=app:1"]);
  });
});

describe("map directives", () => {
  it("$patch: replace replaces a map instead of merging it", () => {
    const out = applyStrategicMergePatch(
      deploymentType,
      deploymentWith([], { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } }),
      {
        spec: { strategy: { $patch: "replace", type: "Recreate" } },
      },
    );
    expect((out.spec as Record<string, unknown>).strategy).toEqual({ type: "Recreate" });
  });

  it("$retainKeys keeps only the listed keys (how kubectl switches a Deployment to Recreate)", () => {
    const out = applyStrategicMergePatch(
      deploymentType,
      deploymentWith([], { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } }),
      {
        spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } },
      },
    );
    expect((out.spec as Record<string, unknown>).strategy).toEqual({ type: "Recreate" });
  });

  it("$deleteFromPrimitiveList removes values from a merged primitive list; finalizers merge as a set", () => {
    const out = applyStrategicMergePatch(deploymentType, deploymentWith([]), {
      metadata: { "$deleteFromPrimitiveList/finalizers": ["a"], finalizers: ["c", "b"] },
    });
    expect((out.metadata as Record<string, unknown>).finalizers).toEqual(["b", "c"]);
  });
});

describe("Service ports", () => {
  it("merge by port, not by name", () => {
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: {
        ports: [
          { name: "http", port: 80, targetPort: 8080 },
          { name: "metrics", port: 9090 },
        ],
      },
    };
    const out = applyStrategicMergePatch(serviceType, svc, { spec: { ports: [{ port: 80, targetPort: 8081 }] } });
    expect((out.spec as { ports: unknown[] }).ports).toEqual([
      { name: "http", port: 80, targetPort: 8081 },
      { name: "metrics", port: 9090 },
    ]);
  });
});
