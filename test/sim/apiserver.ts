/**
 * The simulator's API server: the Kubernetes REST API over plain HTTP on 127.0.0.1, in front of a Store.
 * Serves discovery (`/version`, `/api`, `/apis`, legacy and aggregated), OpenAPI v3 for kubectl, and the
 * resource verbs (api/handlers.ts), watch streams (api/watch.ts), with fault injection (faults.ts) and a
 * request log. Errors are answered with `Status` bodies as the real server does (api/status.ts).
 */
import { createServer, ServerResponse, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { KObject, Store } from "./store.ts";
import { StoreError } from "./store.ts";
import { Faults, type FaultAction, type Verb } from "./faults.ts";
import { ApiError, internalError, notAcceptable, serviceUnavailable, tooManyRequests, unknownResource } from "./api/status.ts";
import { route, type ResourceRequest } from "./api/routing.ts";
import { ResourceHandlers, type RequestContext } from "./api/handlers.ts";
import { serveWatch } from "./api/watch.ts";
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  SERVER_VERSION,
  wantsAggregated,
} from "./api/discovery.ts";
import { openApiV3GroupVersion, openApiV3Root } from "./kubectl-compat/openapi.ts";
import { tableOf, wantsTable } from "./kubectl-compat/table.ts";
import { applyDefaults } from "./api/defaults.ts";
import { decodeProtobufObject, PROTOBUF } from "./kubectl-compat/protobuf.ts";
import { Authorizer } from "./api/authorization.ts";

export interface ApiServerOptions {
  port?: number;
  faults?: Faults;
  log?: (line: string) => void;
  /** How often watch streams that allow bookmarks get one (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Cap on a watch without timeoutSeconds (default 1800 s, the real server's min-request-timeout). */
  watchTimeoutSeconds?: number;
  /** Authentication and RBAC (default: a new one; requests without credentials are the admin). */
  authorizer?: Authorizer;
}

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 3 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = "application/json",
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e =
    err instanceof ApiError
      ? err
      : err instanceof StoreError
        ? new ApiError(err.code, err.reason, err.message)
        : internalError(err instanceof Error ? err.message : String(err));
  const headers: Record<string, string> = {};
  if (e.details?.retryAfterSeconds !== undefined) headers["Retry-After"] = String(e.details.retryAfterSeconds);
  if (res.headersSent) return void res.end();
  sendJson(res, e.code, e.toStatus(), "application/json", headers);
}

/** The namespaces kube-apiserver's bootstrap controller creates on start. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

function ensureSystemNamespaces(store: Store): void {
  if (!store.types.has("/v1/namespaces")) return;
  for (const name of SYSTEM_NAMESPACES) {
    if (store.get("/v1/namespaces", undefined, name)) continue;
    const ns: KObject = { apiVersion: "v1", kind: "Namespace", metadata: { name } };
    applyDefaults(ns, store);
    store.create("/v1/namespaces", ns);
  }
}

export async function startApiServer(store: Store, opts: ApiServerOptions = {}): Promise<ApiServer> {
  ensureSystemNamespaces(store);
  const faults = opts.faults ?? new Faults();
  const log = opts.log ?? (() => {});
  const handlers = new ResourceHandlers(store);
  const authorizer = opts.authorizer ?? new Authorizer(store);
  const sockets = new Set<Socket>();
  let serverAddress = "127.0.0.1:0";
  const types = () => [...store.types.values()];

  const nonResource = (path: string, accept: string, res: ServerResponse): void => {
    const segs = path.split("/").filter(Boolean);
    if (path === "/version" || path === "/version/") return sendJson(res, 200, SERVER_VERSION);
    if (["/healthz", "/livez", "/readyz"].includes(path)) {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      return void res.end("ok");
    }
    if (path === "/api" || path === "/apis") {
      if (wantsAggregated(accept))
        return sendJson(res, 200, aggregatedDiscovery(types(), path === "/api"), AGGREGATED_DISCOVERY_CONTENT_TYPE, { Vary: "Accept" });
      return sendJson(res, 200, path === "/api" ? apiVersions(serverAddress) : apiGroupList(types()), "application/json", {
        Vary: "Accept",
      });
    }
    if (segs[0] === "api" && segs.length === 2) {
      const doc = apiResourceList(types(), "", segs[1]!);
      if (doc) return sendJson(res, 200, doc);
    }
    if (segs[0] === "apis" && segs.length === 2) {
      const doc = apiGroupDoc(types(), segs[1]!);
      if (doc) return sendJson(res, 200, doc);
    }
    if (segs[0] === "apis" && segs.length === 3) {
      const doc = apiResourceList(types(), segs[1]!, segs[2]!);
      if (doc) return sendJson(res, 200, doc);
    }
    if (path === "/openapi/v3" || path === "/openapi/v3/") return sendJson(res, 200, openApiV3Root(types()));
    if (segs[0] === "openapi" && segs[1] === "v3") {
      const gv = segs.slice(2);
      const doc =
        gv[0] === "api"
          ? openApiV3GroupVersion(types(), "", gv[1] ?? "")
          : gv[0] === "apis"
            ? openApiV3GroupVersion(types(), gv[1] ?? "", gv[2] ?? "")
            : undefined;
      if (doc) return sendJson(res, 200, doc);
    }
    throw unknownResource();
  };

  const serveResource = async (
    r: ResourceRequest,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    actions: FaultAction[],
  ) => {
    const ctx: RequestContext = { query, userAgent: req.headers["user-agent"] ?? "" };
    const accept = req.headers.accept ?? "";
    let contentType = req.headers["content-type"] ?? "application/json";
    const raw = ["POST", "PUT", "PATCH", "DELETE"].includes(req.method ?? "") ? await readBody(req) : Buffer.alloc(0);
    let body = raw.toString("utf8");
    if (contentType.split(";")[0]!.trim() === PROTOBUF && (r.verb === "create" || r.verb === "update")) {
      body = JSON.stringify(decodeProtobufObject(raw));
      contentType = "application/json";
    }
    let result;
    switch (r.verb) {
      case "watch": {
        const drop = actions.find((a) => a.type === "dropWatch");
        return serveWatch(store, handlers, r, query, res, {
          dropAfterEvents: drop?.type === "dropWatch" ? drop.afterEvents : undefined,
          bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000,
          defaultTimeoutSeconds: opts.watchTimeoutSeconds ?? 1800,
          ...(wantsTable(accept)
            ? {
                render: (o: KObject, first: boolean) =>
                  tableOf(r.type, o, store.timestamp(), query.get("includeObject") ?? "Metadata", first),
              }
            : {}),
        });
      }
      case "get":
        result = handlers.get(r);
        break;
      case "list":
        result = handlers.list(r, ctx);
        break;
      case "create":
        result = handlers.create(r, body, contentType, ctx);
        break;
      case "update":
        result = handlers.update(r, body, contentType, ctx);
        break;
      case "patch":
        result = handlers.patch(r, body, contentType, ctx);
        break;
      case "delete":
        result = handlers.delete(r, body, ctx);
        break;
      case "deletecollection":
        result = handlers.deleteCollection(r, body, ctx);
        break;
    }
    if (wantsTable(accept) && (r.verb === "get" || r.verb === "list") && r.subresource === undefined) {
      return sendJson(
        res,
        result.code,
        tableOf(r.type, result.body, store.timestamp(), query.get("includeObject") ?? "Metadata"),
        "application/json;as=Table;v=v1;g=meta.k8s.io",
      );
    }
    if (accept && !acceptsJson(accept)) throw notAcceptable(["application/json"]);
    sendJson(res, result.code, result.body);
  };

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    res.on("finish", () => log(`${req.method} ${req.url} ${res.statusCode} ${Number(process.hrtime.bigint() - started) / 1e6}ms`));
    void (async () => {
      let verb: Verb = "get";
      let resource: string | undefined;
      let routed: ReturnType<typeof route> | undefined;
      let routeError: unknown;
      try {
        routed = route(store, req.method ?? "GET", path, url.searchParams);
        if (routed.kind === "resource") {
          verb = routed.req.verb;
          resource = routed.req.type.plural + (routed.req.subresource ? `/${routed.req.subresource}` : "");
        }
      } catch (e) {
        routeError = e;
      }
      // Authentication and authorization come first, as in kube-apiserver's filter chain.
      try {
        const who = authorizer.authenticate(req);
        if (!routeError && routed!.kind === "resource") authorizer.authorize(who, Authorizer.attributes(routed!.req, url.searchParams));
        else if (!routeError) authorizer.authorize(who, { verb: (req.method ?? "GET").toLowerCase(), apiGroup: "", resource: "", path });
      } catch (e) {
        await readBody(req).catch(() => undefined);
        return sendError(res, e);
      }
      const actions = faults.onRequest({ verb, path, resource });
      try {
        for (const a of actions) if (a.type === "latency") await sleep(a.ms);
        if (actions.some((a) => a.type === "reset")) return void req.socket.destroy();
        const status = actions.find((a) => a.type === "status");
        if (status?.type === "status" && status.afterApply && !routeError && routed!.kind === "resource" && routed!.req.verb !== "watch") {
          // Commit the request (its answer goes nowhere), then answer the error: the client cannot tell it was applied.
          await serveResource(routed!.req, req, new ServerResponse(req), url.searchParams, actions).catch(() => undefined);
          throw status.code === 429
            ? tooManyRequests(status.retryAfterSeconds)
            : status.code === 503
              ? serviceUnavailable()
              : internalError("injected fault");
        }
        if (status?.type === "status") {
          await readBody(req).catch(() => undefined);
          throw status.code === 429
            ? tooManyRequests(status.retryAfterSeconds)
            : status.code === 503
              ? serviceUnavailable()
              : internalError("injected fault");
        }
        if (routeError) throw routeError;
        if (routed!.kind === "resource") await serveResource(routed!.req, req, res, url.searchParams, actions);
        else nonResource(path, req.headers.accept ?? "", res);
      } catch (e) {
        sendError(res, e);
      }
    })();
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  serverAddress = `127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function acceptsJson(accept: string): boolean {
  return accept.split(",").some((p) => {
    const base = p.split(";")[0]!.trim();
    return base === "application/json" || base === "*/*" || base === "application/*" || base === "";
  });
}
