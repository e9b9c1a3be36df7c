/**
 * The simulated API server at the HTTP level: Status bodies and codes as the real API returns them
 * (k8s.io/apimachinery/pkg/api/errors), discovery documents, dry runs, delete responses, pagination,
 * deletecollection, and watch details (410 Expired as an ERROR event, bookmarks, selection changes).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiFixture, type ApiFixture } from "./fixture.ts";

let api: ApiFixture;
beforeAll(async () => {
  api = await startApiFixture({ kubectl: false, historySize: 50 });
});
afterAll(async () => api?.close());

async function call(method: string, path: string, body?: unknown, contentType = "application/json", accept = "application/json") {
  const res = await fetch(api.url + path, {
    method,
    headers: { "Content-Type": contentType, Accept: accept },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

const DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments";
const deployment = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "i:1" }] } },
  },
  ...extra,
});

describe("Status bodies", () => {
  it("404 for a missing object names the resource and object", async () => {
    const r = await call("GET", `${DEPLOYMENTS}/missing`);
    expect(r.status).toBe(404);
    expect(r.json).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'deployments.apps "missing" not found',
      reason: "NotFound",
      details: { name: "missing", group: "apps", kind: "deployments" },
      code: 404,
    });
  });

  it("404 for an unknown resource type", async () => {
    const r = await call("GET", "/apis/apps/v1/namespaces/default/widgets");
    expect(r.status).toBe(404);
    expect(r.json.message).toBe("the server could not find the requested resource");
  });

  it("409 AlreadyExists on a duplicate create", async () => {
    expect((await call("POST", DEPLOYMENTS, deployment("dup"))).status).toBe(201);
    const r = await call("POST", DEPLOYMENTS, deployment("dup"));
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      reason: "AlreadyExists",
      message: 'deployments.apps "dup" already exists',
      details: { name: "dup", group: "apps", kind: "deployments" },
    });
  });

  it("422 Invalid carries one cause per field error", async () => {
    const bad = deployment("Bad_Name");
    (bad.spec as Record<string, unknown>).selector = undefined;
    (bad.spec.template.spec.containers[0] as Record<string, unknown>).image = "";
    const r = await call("POST", DEPLOYMENTS, bad);
    expect(r.status).toBe(422);
    expect(r.json.reason).toBe("Invalid");
    expect(r.json.details.kind).toBe("Deployment");
    expect(r.json.details.group).toBe("apps");
    const fields = r.json.details.causes.map((c: { field: string; reason: string }) => [c.field, c.reason]);
    expect(fields).toEqual([
      ["metadata.name", "FieldValueInvalid"],
      ["spec.selector", "FieldValueRequired"],
      ["spec.template.spec.containers[0].image", "FieldValueRequired"],
    ]);
    expect(r.json.message).toMatch(
      /^Deployment\.apps "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
  });

  it("415 for an unsupported patch type, listing the accepted ones", async () => {
    const r = await call("PATCH", `${DEPLOYMENTS}/dup`, "replicas: 3", "text/plain");
    expect(r.status).toBe(415);
    expect(r.json.reason).toBe("UnsupportedMediaType");
    expect(r.json.message).toContain("application/strategic-merge-patch+json");
  });

  it("405 for a verb the endpoint does not support", async () => {
    const r = await call("POST", `${DEPLOYMENTS}/dup`, deployment("dup"));
    expect(r.status).toBe(405);
    expect(r.json.reason).toBe("MethodNotAllowed");
  });

  it("400 for a body that is not JSON, or of the wrong kind", async () => {
    expect((await call("POST", DEPLOYMENTS, "{not json")).status).toBe(400);
    const wrongKind = await call("POST", DEPLOYMENTS, { ...deployment("x"), apiVersion: "v1", kind: "Pod" });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.json.reason).toBe("BadRequest");
  });

  it("server-side apply without a fieldManager is a 400", async () => {
    const r = await call(
      "PATCH",
      `${DEPLOYMENTS}/dup`,
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "dup" } },
      "application/apply-patch+yaml",
    );
    expect(r.status).toBe(400);
  });
});

describe("writes", () => {
  it("dryRun=All validates and answers without persisting", async () => {
    const r = await call("POST", `${DEPLOYMENTS}?dryRun=All`, deployment("dry"));
    expect(r.status).toBe(201);
    expect(r.json.metadata.name).toBe("dry");
    expect((await call("GET", `${DEPLOYMENTS}/dry`)).status).toBe(404);
  });

  it("DELETE answers a Status for Deployments and the object for Pods (ReturnDeletedObject)", async () => {
    const d = await call("DELETE", `${DEPLOYMENTS}/dup`);
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({ kind: "Status", status: "Success", details: { name: "dup", group: "apps", kind: "deployments" } });
    await call("POST", "/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "i" }] },
    });
    const p = await call("DELETE", "/api/v1/namespaces/default/pods/p");
    expect(p.json.kind).toBe("Pod");
  });

  // k8s.io/apiserver pkg/endpoints/handlers/delete.go: a deletion that did not complete answers 200 with the
  // object (now carrying deletionTimestamp); 202 Accepted only when the client also sent orphanDependents=false.
  it("a finalizer holds deletion until it is removed; the DELETE answers 200 with the object", async () => {
    await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "held", finalizers: ["example.com/hold"] } });
    const d = await call("DELETE", "/api/v1/namespaces/default/configmaps/held");
    expect(d.status).toBe(200);
    expect(d.json.kind).toBe("ConfigMap");
    expect(d.json.metadata.deletionTimestamp).toBeTruthy();
    const again = await call("DELETE", "/api/v1/namespaces/default/configmaps/held");
    expect(again.status).toBe(200);
    expect(again.json.metadata.deletionTimestamp).toBe(d.json.metadata.deletionTimestamp);
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/held")).status).toBe(200);
    await call("PATCH", "/api/v1/namespaces/default/configmaps/held", { metadata: { finalizers: null } }, "application/merge-patch+json");
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/held")).status).toBe(404);
  });

  it("a deletion held by a finalizer answers 202 Accepted only with orphanDependents=false", async () => {
    await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "held2", finalizers: ["example.com/hold"] } });
    const d = await call("DELETE", "/api/v1/namespaces/default/configmaps/held2", {
      kind: "DeleteOptions",
      apiVersion: "v1",
      orphanDependents: false,
    });
    expect(d.status).toBe(202);
    expect(d.json.metadata.deletionTimestamp).toBeTruthy();
    expect((await call("DELETE", "/api/v1/namespaces/default/configmaps/held2?orphanDependents=false")).status).toBe(202);
    expect(
      (
        await call("DELETE", "/api/v1/namespaces/default/configmaps/held2", {
          kind: "DeleteOptions",
          apiVersion: "v1",
          propagationPolicy: "Foreground",
        })
      ).status,
    ).toBe(200);
    await call("PATCH", "/api/v1/namespaces/default/configmaps/held2", { metadata: { finalizers: null } }, "application/merge-patch+json");
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/held2")).status).toBe(404);
  });

  it("list pagination with limit/continue, and deletecollection by label", async () => {
    for (const n of ["p1", "p2", "p3"])
      await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: n, labels: { batch: "x" } } });
    const page1 = await call("GET", "/api/v1/namespaces/default/configmaps?labelSelector=batch%3Dx&limit=2");
    expect(page1.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["p1", "p2"]);
    const page2 = await call(
      "GET",
      `/api/v1/namespaces/default/configmaps?labelSelector=batch%3Dx&limit=2&continue=${page1.json.metadata.continue}`,
    );
    expect(page2.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["p3"]);
    expect(page2.json.metadata.continue).toBeUndefined();
    expect((await call("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=batch%3Dx")).status).toBe(200);
    expect((await call("GET", "/api/v1/namespaces/default/configmaps?labelSelector=batch%3Dx")).json.items).toEqual([]);
  });
});

describe("discovery", () => {
  it("legacy /apis lists groups; a group/version lists resources with verbs, shortNames and subresources", async () => {
    const groups = (await call("GET", "/apis")).json;
    expect(groups.kind).toBe("APIGroupList");
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual(
      expect.arrayContaining(["apps", "networking.k8s.io", "coordination.k8s.io", "gateway.networking.k8s.io"]),
    );
    const appsV1 = (await call("GET", "/apis/apps/v1")).json;
    const byName = Object.fromEntries(appsV1.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.deployments).toMatchObject({ kind: "Deployment", namespaced: true, shortNames: ["deploy"] });
    expect(byName.deployments.verbs).toEqual(expect.arrayContaining(["get", "list", "watch", "create", "update", "patch", "delete"]));
    expect(byName["deployments/scale"]).toMatchObject({ group: "autoscaling", version: "v1", kind: "Scale" });
    expect(byName["deployments/status"]).toMatchObject({ kind: "Deployment" });
  });

  it("aggregated discovery when asked for apidiscovery.k8s.io/v2", async () => {
    const r = await call(
      "GET",
      "/apis",
      undefined,
      "application/json",
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    );
    expect(r.headers.get("content-type")).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    expect(r.json.kind).toBe("APIGroupDiscoveryList");
    const appsGroup = r.json.items.find((g: { metadata: { name: string } }) => g.metadata.name === "apps");
    const deploy = appsGroup.versions[0].resources.find((x: { resource: string }) => x.resource === "deployments");
    expect(deploy.scope).toBe("Namespaced");
    expect(deploy.subresources.map((s: { subresource: string }) => s.subresource).sort()).toEqual(["scale", "status"]);
  });

  it("/version", async () => {
    const v = (await call("GET", "/version")).json;
    expect(v.major).toBe("1");
    expect(v.gitVersion).toMatch(/^v1\.\d+\.\d+/);
  });
});

describe("watch over HTTP", () => {
  type WatchEvent = {
    type: string;
    object: { metadata: { name?: string; annotations?: Record<string, string> }; message?: string; [k: string]: unknown };
  };
  async function readEvents(path: string, count: number): Promise<WatchEvent[]> {
    const controller = new AbortController();
    const res = await fetch(api.url + path, { signal: controller.signal });
    const events: WatchEvent[] = [];
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        events.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (events.length >= count) break;
    }
    controller.abort();
    return events;
  }

  it("a resourceVersion older than the kept history gets an ERROR event with a 410 Expired Status", async () => {
    for (let i = 0; i < 60; i++) await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { generateName: "churn-" } });
    const [e] = await readEvents("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2", 1);
    expect(e!.type).toBe("ERROR");
    expect(e!.object).toMatchObject({ kind: "Status", status: "Failure", reason: "Expired", code: 410 });
    expect(e!.object.message).toMatch(/^too old resource version: 2 \(\d+\)$/);
  });

  it("sendInitialEvents ends its initial state with the k8s.io/initial-events-end bookmark", async () => {
    await call("POST", DEPLOYMENTS, deployment("w1"));
    const events = await readEvents(
      `${DEPLOYMENTS}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&labelSelector=app%3Dw1`,
      2,
    );
    expect(events[0]).toMatchObject({ type: "ADDED", object: { metadata: { name: "w1" } } });
    expect(events[1]!.type).toBe("BOOKMARK");
    expect(events[1]!.object.metadata.annotations).toEqual({ "k8s.io/initial-events-end": "true" });
  });

  it("allowWatchBookmarks: BOOKMARK events carry only kind, apiVersion and the current resourceVersion", async () => {
    const events = await readEvents(`${DEPLOYMENTS}?watch=1&allowWatchBookmarks=true&labelSelector=app%3Dnone`, 1);
    expect(events[0]).toEqual({
      type: "BOOKMARK",
      object: { kind: "Deployment", apiVersion: "apps/v1", metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } },
    });
  });

  it("timeoutSeconds ends the stream from the server side", async () => {
    const res = await fetch(`${api.url}${DEPLOYMENTS}?watch=1&timeoutSeconds=1&labelSelector=app%3Dnone`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("an object leaving a label selection is DELETED for that watch", async () => {
    const list = await call("GET", `${DEPLOYMENTS}?labelSelector=track%3Dcanary`);
    const pending = readEvents(
      `${DEPLOYMENTS}?watch=1&resourceVersion=${list.json.metadata.resourceVersion}&labelSelector=track%3Dcanary`,
      2,
    );
    await call("PATCH", `${DEPLOYMENTS}/w1`, { metadata: { labels: { track: "canary" } } }, "application/merge-patch+json");
    await call("PATCH", `${DEPLOYMENTS}/w1`, { metadata: { labels: { track: "stable" } } }, "application/merge-patch+json");
    const events = await pending;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["ADDED", "w1"],
      ["DELETED", "w1"],
    ]);
  });
});
