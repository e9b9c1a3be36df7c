/**
 * listWatch's reconnection rules with a scripted watch (the simulator cannot expire a resourceVersion on demand):
 * a 410 (as an HTTP status or an ERROR event) re-lists; an ordinary end resumes from the last resourceVersion;
 * persistent connection failures give up.
 */
import { describe, expect, it } from "vitest";
import { listWatch } from "#src/health/list-watch.ts";
import type { Kube } from "#src/kube/client.ts";

type Obj = { metadata: { name: string; resourceVersion: string } };
type Script = (query: Record<string, unknown>, emit: (type: string, obj: unknown) => void, done: (err: unknown) => void) => void;

/** A fake client-node Watch playing one script per connection; records each connection's query. */
function fakeKube(scripts: Script[], queries: Array<Record<string, unknown>>): Kube {
  let n = 0;
  const watch = {
    async watch(_path: string, query: Record<string, unknown>, cb: (type: string, obj: unknown) => void, done: (err: unknown) => void) {
      queries.push(query);
      const controller = new AbortController();
      let ended = false;
      const end = (err: unknown) => {
        if (!ended) {
          ended = true;
          done(err);
        }
      };
      controller.signal.addEventListener("abort", () => end(null));
      const script = scripts[n++];
      if (script) setImmediate(() => script(query, (t, o) => !ended && cb(t, o), end));
      return controller; // no script left: stays open until aborted
    },
  };
  return { watch } as unknown as Kube;
}

const obj = (name: string, rv: string): Obj => ({ metadata: { name, resourceVersion: rv } });

describe("listWatch", () => {
  it("resumes from the last resourceVersion after an ordinary end, and re-lists after a 410", async () => {
    const queries: Array<Record<string, unknown>> = [];
    let lists = 0;
    const seen: string[] = [];
    const ac = new AbortController();
    const rewatch: string[] = [];
    const kube = fakeKube(
      [
        (_q, emit, done) => {
          emit("ADDED", obj("a", "11"));
          emit("MODIFIED", obj("a", "12"));
          done(null); // server timeout
        },
        (_q, emit, done) => {
          emit("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" });
          done(null);
        },
        (_q, emit) => {
          emit("BOOKMARK", { metadata: { resourceVersion: "30" } });
          emit("DELETED", obj("a", "31"));
          setImmediate(() => ac.abort());
        },
      ],
      queries,
    );
    await listWatch<Obj>({
      kube,
      path: "/api/v1/namespaces/p/pods",
      query: { labelSelector: "app=x" },
      list: async () => ({ items: [obj("a", "10")], metadata: { resourceVersion: lists++ === 0 ? "10" : "20" } }),
      signal: ac.signal,
      onList: (items) => seen.push(`list ${items.map((i) => i.metadata.name).join(",")}`),
      onEvent: (type, o) => seen.push(`${type} ${o.metadata.resourceVersion}`),
      onRewatch: (why) => rewatch.push(why),
    });
    expect(seen).toEqual(["list a", "ADDED 11", "MODIFIED 12", "list a", "DELETED 31"]);
    expect(queries.map((q) => q.resourceVersion)).toEqual(["10", "12", "20"]);
    expect(queries.every((q) => q.labelSelector === "app=x" && q.allowWatchBookmarks === true)).toBe(true);
    expect(rewatch).toEqual(["closed", "gone"]);
    expect(lists).toBe(2);
  });

  it("treats an HTTP 410 on connect like an expired resourceVersion", async () => {
    const queries: Array<Record<string, unknown>> = [];
    let lists = 0;
    const ac = new AbortController();
    const kube = fakeKube(
      [(_q, _emit, done) => done(Object.assign(new Error("Gone"), { statusCode: 410 })), () => setImmediate(() => ac.abort())],
      queries,
    );
    await listWatch<Obj>({
      kube,
      path: "/x",
      list: async () => ({ items: [], metadata: { resourceVersion: String(++lists) } }),
      signal: ac.signal,
      onList: () => {},
      onEvent: () => {},
    });
    expect(lists).toBe(2);
    expect(queries.map((q) => q.resourceVersion)).toEqual(["1", "2"]);
  });

  it("retries failed connections with backoff, then gives up with the error", async () => {
    const queries: Array<Record<string, unknown>> = [];
    const refuse: Script = (_q, _e, done) => done(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    const kube = fakeKube([refuse, refuse, refuse, refuse], queries);
    const p = listWatch<Obj>({
      kube,
      path: "/x",
      list: async () => ({ items: [], metadata: { resourceVersion: "5" } }),
      signal: new AbortController().signal,
      onList: () => {},
      onEvent: () => {},
      retries: 2,
    });
    await expect(p).rejects.toThrow("ECONNREFUSED");
    expect(queries).toHaveLength(3);
  });

  it("resolves when aborted while a watch is open", async () => {
    const ac = new AbortController();
    const kube = fakeKube([], []);
    const p = listWatch<Obj>({
      kube,
      path: "/x",
      list: async () => ({ items: [] }),
      signal: ac.signal,
      onList: () => setImmediate(() => ac.abort()),
      onEvent: () => {},
    });
    await expect(p).resolves.toBeUndefined();
  });
});
