/**
 * Fault injection on the simulated API server, seen by real clients: error statuses (429 with Retry-After,
 * which client-go inside kubectl retries by itself; 503 surfaced by client-node), dropped watches, connection
 * resets, latency, rule validation for scenario files, and the request counters the bench reads.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { faultRuleSchema } from "../../faults.ts";
import { startApiFixture, type ApiFixture } from "./fixture.ts";

let api: ApiFixture;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  api = await startApiFixture();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(api.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "cfg" }, data: { a: "1" } } });
});
afterAll(async () => api?.close());
beforeEach(() => {
  api.faults.clear();
  api.faults.resetCounters();
});

describe("error statuses", () => {
  it("a 503 the next time, then success; counters see both requests", async () => {
    api.faults.add({ verb: "get", resource: "configmaps", times: 1, fault: { type: "status", code: 503 } });
    const err = await core.readNamespacedConfigMap({ name: "cfg", namespace: "default" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<string>).code).toBe(503);
    expect(JSON.parse((err as k8s.ApiException<string>).body).reason).toBe("ServiceUnavailable");
    expect((await core.readNamespacedConfigMap({ name: "cfg", namespace: "default" })).data).toEqual({ a: "1" });
    const counts = api.faults.requests();
    expect(counts.byVerb.get).toBe(2);
    expect(counts.byResource.configmaps).toBe(2);
    expect(counts.total).toBe(2);
  });

  it("a 429 carries Retry-After, and kubectl's client-go retries it by itself", async () => {
    api.faults.add({ verb: "get", resource: "configmaps", times: 1, fault: { type: "status", code: 429, retryAfterSeconds: 1 } });
    const raw = await fetch(`${api.url}/api/v1/namespaces/default/configmaps/cfg`);
    expect(raw.status).toBe(429);
    expect(raw.headers.get("retry-after")).toBe("1");
    expect(((await raw.json()) as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBe(1);

    api.faults.add({ verb: "get", resource: "configmaps", times: 1, fault: { type: "status", code: 429, retryAfterSeconds: 1 } });
    const r = await api.kubectl.run(["get", "configmap", "cfg", "-o", "jsonpath={.data.a}"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("1");
    expect(api.faults.active()).toEqual([]);
  });

  it("a 500 on patch for one resource only (matched by path regex) leaves other resources alone", async () => {
    api.faults.add({ verb: "patch", path: "/configmaps/cfg$", fault: { type: "status", code: 500 } });
    const r = await api.kubectl.run(["patch", "configmap", "cfg", "--type=merge", "-p", '{"data":{"a":"2"}}']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Internal error occurred");
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "other" } } });
    const ok = await api.kubectl.run(["patch", "configmap", "other", "--type=merge", "-p", '{"data":{"a":"2"}}']);
    expect(ok.exitCode).toBe(0);
  });
});

describe("connections and watches", () => {
  it("drops a watch after N events; the watcher sees a clean end and resumes from its last resourceVersion", async () => {
    api.faults.add({ verb: "watch", resource: "configmaps", times: 1, fault: { type: "dropWatch", afterEvents: 2 } });
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    const seen: Array<{ type: string; name: string; rv: string }> = [];
    const onEvent = (type: string, o: k8s.V1ConfigMap) => seen.push({ type, name: o.metadata!.name!, rv: o.metadata!.resourceVersion! });
    for (const n of ["w1", "w2", "w3"])
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: n, labels: { w: "1" } } } });
    const ended = await new Promise<unknown>((resolve) => {
      void new k8s.Watch(kc).watch(
        "/api/v1/namespaces/default/configmaps",
        { resourceVersion: list.metadata!.resourceVersion!, labelSelector: "w=1" },
        onEvent,
        resolve,
      );
    });
    expect(ended ?? null).toBeNull();
    expect(seen.map((s) => s.name)).toEqual(["w1", "w2"]);

    const resumed: string[] = [];
    const controller = await new k8s.Watch(kc).watch(
      "/api/v1/namespaces/default/configmaps",
      { resourceVersion: seen[1]!.rv, labelSelector: "w=1" },
      (type, o: k8s.V1ConfigMap) => resumed.push(`${type} ${o.metadata!.name}`),
      () => {},
    );
    while (resumed.length < 1) await new Promise((r) => setImmediate(r));
    controller.abort();
    expect(resumed).toEqual(["ADDED w3"]);
  });

  it("resets the connection", async () => {
    api.faults.add({ verb: "list", resource: "configmaps", times: 1, fault: { type: "reset" } });
    await expect(fetch(`${api.url}/api/v1/namespaces/default/configmaps`)).rejects.toThrow();
    expect((await fetch(`${api.url}/api/v1/namespaces/default/configmaps`)).status).toBe(200);
  });

  it("latency delays but still answers", async () => {
    api.faults.add({ verb: "*", resource: "configmaps", times: 1, fault: { type: "latency", ms: 200 } });
    const started = performance.now();
    expect((await core.readNamespacedConfigMap({ name: "cfg", namespace: "default" })).metadata?.name).toBe("cfg");
    // Only a lower bound: load can make the answer later, never earlier than the injected delay (a few ms of
    // slack for timer and clock granularity).
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(api.faults.active()).toEqual([]);
  });
});

describe("faultRuleSchema (scenario files)", () => {
  it("parses rules written in YAML, with defaults", () => {
    const rules = parse(`
- resource: httproutes
  verb: patch
  times: 2
  fault: {type: status, code: 503}
- path: "^/apis/apps/v1/namespaces/production/deployments"
  fault: {type: latency, ms: 200}
`).map((r: unknown) => faultRuleSchema.parse(r));
    expect(rules[0]).toEqual({
      resource: "httproutes",
      verb: "patch",
      times: 2,
      fault: { type: "status", code: 503, retryAfterSeconds: 1, afterApply: false },
    });
    expect(rules[1].verb).toBe("*");
  });

  it("rejects statuses the simulator does not inject, unknown verbs and unknown keys", () => {
    expect(faultRuleSchema.safeParse({ fault: { type: "status", code: 404 } }).success).toBe(false);
    expect(faultRuleSchema.safeParse({ verb: "explode", fault: { type: "reset" } }).success).toBe(false);
    expect(faultRuleSchema.safeParse({ fault: { type: "reset" }, when: "always" }).success).toBe(false);
  });
});
