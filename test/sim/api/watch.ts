/**
 * Watch streams: newline-delimited JSON `{"type","object"}` events over a chunked response, as kube-apiserver
 * serves `?watch=1`. Honours `resourceVersion` (unset/"0": synthetic ADDED events for the current state, then
 * changes; N: every change after N, or an ERROR event carrying a 410 Expired Status when N is too old),
 * `sendInitialEvents` (with the `k8s.io/initial-events-end` bookmark), `allowWatchBookmarks`,
 * `timeoutSeconds`, and label/field selectors (objects entering or leaving the selection are ADDED/DELETED).
 */
import type { ServerResponse } from "node:http";
import type { KObject, Store, StoreEvent } from "../store.ts";
import { StoreError } from "../store.ts";
import type { ResourceRequest } from "./routing.ts";
import type { ResourceHandlers } from "./handlers.ts";
import { ApiError } from "./status.ts";

export interface WatchOptions {
  /** End the stream (as a server timeout would) after this many events: the "dropWatch" fault. */
  dropAfterEvents?: number;
  /** How often to send BOOKMARK events when the client allows them. */
  bookmarkIntervalMs: number;
  /** Server-side cap when the client gives no timeoutSeconds. */
  defaultTimeoutSeconds: number;
  /** Render each event's object (e.g. as a Table for kubectl get -w); `first` is true for the first one sent. */
  render?: (object: KObject, first: boolean) => unknown;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export function serveWatch(
  store: Store,
  handlers: ResourceHandlers,
  req: ResourceRequest,
  query: URLSearchParams,
  res: ServerResponse,
  o: WatchOptions,
): void {
  const { items, resourceVersion, matches } = handlers.filtered(req, query); // throws 400 on bad selectors, before any byte is sent
  const rvParam = query.get("resourceVersion") ?? "";
  const sendInitial = query.get("sendInitialEvents") === "true";
  const bookmarks = query.get("allowWatchBookmarks") === "true";
  const timeoutSeconds = Number(query.get("timeoutSeconds") ?? 0) || o.defaultTimeoutSeconds;
  const apiVersion = req.type.group ? `${req.type.group}/${req.type.version}` : req.type.version;

  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
  res.flushHeaders();

  let sent = 0;
  let ended = false;
  let unsubscribe = () => {};
  // Assigned once, below; `let` because end() can run (client gone) before the timer is armed.
  // eslint-disable-next-line prefer-const
  let timeout: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearTimeout(timeout);
    clearInterval(bookmarkTimer);
    res.end();
  };
  let rendered = 0;
  const send = (type: EventType, object: unknown) => {
    if (ended) return;
    if (o.render && (type === "ADDED" || type === "MODIFIED" || type === "DELETED")) object = o.render(object as KObject, rendered++ === 0);
    res.write(JSON.stringify({ type, object }) + "\n");
    if (type !== "BOOKMARK") sent++;
    if (o.dropAfterEvents !== undefined && sent >= o.dropAfterEvents) end();
  };
  const bookmark = (annotations?: Record<string, string>) =>
    send("BOOKMARK", {
      kind: req.type.kind,
      apiVersion,
      metadata: { resourceVersion: store.resourceVersion(), ...(annotations ? { annotations } : {}) },
    });
  res.on("close", end);
  if (o.dropAfterEvents === 0) return end();

  const key = (x: KObject) => `${x.metadata.namespace ?? ""}/${x.metadata.name}`;
  const selected = new Set(items.map(key));
  let since: number;
  if (rvParam === "" || rvParam === "0" || sendInitial) {
    for (const item of items) send("ADDED", item);
    if (sendInitial && bookmarks) bookmark({ "k8s.io/initial-events-end": "true" });
    since = Number(resourceVersion);
  } else {
    since = Number(rvParam);
    if (!Number.isInteger(since) || since < 0) {
      send("ERROR", new ApiError(400, "BadRequest", `invalid resource version: ${rvParam}`).toStatus());
      return end();
    }
  }

  const onEvent = (e: StoreEvent) => {
    const k = key(e.object);
    const inSelection = matches(e.object);
    if (e.type === "DELETED") {
      if (inSelection || selected.has(k)) send("DELETED", e.object);
      selected.delete(k);
    } else if (inSelection) {
      send(e.type === "ADDED" || !selected.has(k) ? "ADDED" : "MODIFIED", e.object);
      selected.add(k);
    } else if (selected.has(k)) {
      send("DELETED", e.object);
      selected.delete(k);
    }
  };
  try {
    unsubscribe = store.watch(req.typeKey, req.type.namespaced ? req.namespace : undefined, since, onEvent);
  } catch (err) {
    if (err instanceof StoreError && err.code === 410) {
      send("ERROR", new ApiError(410, "Expired", err.message).toStatus());
      return end();
    }
    throw err;
  }
  if (ended) unsubscribe();
  timeout = setTimeout(end, timeoutSeconds * 1000);
  if (bookmarks) bookmarkTimer = setInterval(() => bookmark(), o.bookmarkIntervalMs);
}
