/**
 * List then watch, for as long as the caller wants: the one way health/ follows live objects.
 *
 * A watch ends for ordinary reasons (the server's timeout, a proxy closing an idle stream, client-node's own
 * 30 s inactivity timeout); it is then re-established from the last resourceVersion seen, so no event is
 * missed. A 410 Gone (HTTP status or an ERROR event: the resourceVersion is too old) starts over with a fresh
 * list, which replaces the caller's state. Failures to list or connect are retried with backoff (p-retry);
 * when they persist, the promise rejects. Aborting `signal` ends the watch connection and resolves.
 */
import pRetry from "p-retry";
import type { Kube } from "../kube/client.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

interface Listed<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export interface ListWatchOptions<T> {
  kube: Kube;
  /** The collection's URL path, e.g. /api/v1/namespaces/production/pods. */
  path: string;
  /** labelSelector / fieldSelector for the watch; `list` must apply the same ones. */
  query?: Record<string, string>;
  list: () => Promise<Listed<T>>;
  signal: AbortSignal;
  /** Everything that exists now (first list, and again after a 410): replaces the caller's state. */
  onList: (items: T[]) => void;
  onEvent: (type: WatchEventType, obj: T) => void;
  /** Called whenever a watch ended and is about to be re-established (for logs and tests). */
  onRewatch?: (why: "closed" | "gone" | "error", detail?: string) => void;
  /** Server-side watch timeout (default 60 s; the watch is then re-established from the last resourceVersion). */
  timeoutSeconds?: number;
  /** Connection attempts after the first before giving up (default 6). */
  retries?: number;
}

type WatchEnd =
  | { kind: "closed"; rv: string | undefined }
  | { kind: "gone" }
  | { kind: "aborted" }
  | { kind: "error"; error: Error; rv: string | undefined; progressed: boolean };

class WatchFailed extends Error {
  readonly end: Extract<WatchEnd, { kind: "error" }>;
  constructor(end: Extract<WatchEnd, { kind: "error" }>) {
    super(end.error.message);
    this.end = end;
  }
}

/** A watch that ended without delivering anything this soon is treated as a failed connection (backoff). */
const QUICK_CLOSE_MS = 1_000;

export async function listWatch<T extends { metadata?: { resourceVersion?: string } }>(o: ListWatchOptions<T>): Promise<void> {
  try {
    await run(o);
  } catch (err) {
    if (o.signal.aborted) return; // p-retry rejects with the abort reason while waiting to retry
    throw err;
  }
}

async function run<T extends { metadata?: { resourceVersion?: string } }>(o: ListWatchOptions<T>): Promise<void> {
  const retry = { retries: o.retries ?? 6, minTimeout: 100, maxTimeout: 2_000, randomize: true, signal: o.signal };
  let rv: string | undefined;
  let relist = true;
  while (!o.signal.aborted) {
    if (relist) {
      const listed = await pRetry(() => o.list(), retry);
      if (o.signal.aborted) return;
      o.onList(listed.items);
      rv = listed.metadata?.resourceVersion;
      relist = false;
    }
    const end = await pRetry(
      async () => {
        const started = performance.now();
        const e = await watchOnce(o, rv);
        if (e.kind === "error" && !e.progressed) throw new WatchFailed(e);
        if (e.kind === "closed" && e.rv === rv && performance.now() - started < QUICK_CLOSE_MS) {
          throw new WatchFailed({ kind: "error", error: new Error("watch closed at once"), rv, progressed: false });
        }
        return e;
      },
      { ...retry, shouldRetry: ({ error }) => error instanceof WatchFailed },
    );
    if (end.kind === "aborted") return;
    if (end.kind === "gone") {
      relist = true;
      o.onRewatch?.("gone");
    } else {
      rv = end.rv ?? rv;
      o.onRewatch?.(end.kind, end.kind === "error" ? end.error.message : undefined);
    }
  }
}

/**
 * One watch connection. Settles only after client-node has called `done`, i.e. after the stream is closed,
 * so no connection outlives the promise (aborting asks client-node to close it, then waits for that).
 */
function watchOnce<T extends { metadata?: { resourceVersion?: string } }>(
  o: ListWatchOptions<T>,
  rv: string | undefined,
): Promise<WatchEnd> {
  return new Promise<WatchEnd>((resolve) => {
    let lastRv = rv;
    let progressed = false;
    let decided: WatchEnd | undefined; // why we are ending it, when we end it ourselves
    let controller: AbortController | undefined;
    let resolved = false;
    const resolveOnce = (end: WatchEnd) => {
      if (resolved) return;
      resolved = true;
      o.signal.removeEventListener("abort", onAbort);
      resolve(end);
    };
    const stop = (end: WatchEnd) => {
      decided ??= end;
      controller?.abort(); // done follows; if still connecting, the .then below aborts once the controller exists
    };
    const onAbort = () => stop({ kind: "aborted" });
    if (o.signal.aborted) return resolveOnce({ kind: "aborted" });
    o.signal.addEventListener("abort", onAbort, { once: true });

    const query: Record<string, string | number | boolean | undefined> = {
      ...o.query,
      allowWatchBookmarks: true,
      timeoutSeconds: o.timeoutSeconds ?? 60,
      ...(rv ? { resourceVersion: rv } : {}),
    };
    o.kube.watch
      .watch(
        o.path,
        query,
        (type, obj: T & { code?: number; message?: string }) => {
          if (decided) return;
          if (type === "ERROR") {
            // The server reports an expired resourceVersion as an ERROR event carrying a 410 Status.
            stop(
              obj?.code === 410
                ? { kind: "gone" }
                : { kind: "error", error: new Error(`watch error event: ${obj?.message ?? JSON.stringify(obj)}`), rv: lastRv, progressed },
            );
            return;
          }
          const objRv = obj?.metadata?.resourceVersion;
          if (objRv) lastRv = objRv;
          progressed = true;
          if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") o.onEvent(type, obj);
        },
        (err: unknown) => {
          if (decided) return resolveOnce(decided);
          if (o.signal.aborted) return resolveOnce({ kind: "aborted" });
          if (!err) return resolveOnce({ kind: "closed", rv: lastRv });
          if ((err as { statusCode?: number }).statusCode === 410) return resolveOnce({ kind: "gone" });
          resolveOnce({ kind: "error", error: err instanceof Error ? err : new Error(String(err)), rv: lastRv, progressed });
        },
      )
      .then(
        (c) => {
          controller = c;
          if (decided) c.abort();
        },
        // Thrown before any connection was made (no current cluster, credentials): done is never called.
        (err: unknown) =>
          resolveOnce(decided ?? { kind: "error", error: err instanceof Error ? err : new Error(String(err)), rv: lastRv, progressed }),
      );
  });
}
