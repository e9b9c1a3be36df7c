/**
 * A stand-in for QualiSys on 127.0.0.1 (port 0), over HTTP or HTTPS: healthy by default, with per-route overrides
 * to break one check at a time. It records every request (path, headers, open/close order) so tests can assert
 * what was sent and that requests overlapped.
 */
import { once } from "node:events";
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Pem } from "./certs.ts";

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export const json =
  (status: number, body: unknown): Route =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
export const html =
  (status: number, body: string): Route =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" }).end(body);
  };
/** Accepts the request and never answers. */
export const hang: Route = () => {};

export function healthyRoutes(token: string): Record<string, Route> {
  return {
    "/api/health": json(200, { status: "ok" }),
    "/api/ready": json(200, { status: "ready", checks: { database: "ok", cache: "ok" } }),
    "/login": html(200, "<html><body><h1>Sign In</h1><form></form></body></html>"),
    "/api/v1/user/me": (req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) return json(401, { error: "unauthorized" })(req, res);
      return json(200, { id: "u-smoke", email: "smoke@qualisys.io" })(req, res);
    },
  };
}

export interface Seen {
  path: string;
  headers: IncomingMessage["headers"];
}

export interface TestApp {
  url: string;
  port: number;
  seen: Seen[];
  /** Highest number of requests open at the same time. */
  maxInFlight: () => number;
  close: () => Promise<void>;
}

export async function startApp(routes: Record<string, Route>, tls?: Pem): Promise<TestApp> {
  const seen: Seen[] = [];
  let inFlight = 0;
  let max = 0;
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    seen.push({ path, headers: req.headers });
    inFlight++;
    max = Math.max(max, inFlight);
    res.once("close", () => inFlight--);
    const route = routes[path];
    if (!route) return void res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    await route(req, res);
  };
  const server: Server = tls ? createHttps({ key: tls.key, cert: tls.cert }, handler) : createHttp(handler);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    seen,
    maxInFlight: () => max,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/**
 * A port nothing listens on: 127.0.0.1:1 (tcpmux). Unprivileged processes cannot bind it and no test does, even
 * when run as root, so a connection is refused every time. (Binding port 0, closing and reusing the number is a
 * flake source: on a busy machine another test's listener can be given that port in between.)
 */
export const CLOSED_PORT = 1;
