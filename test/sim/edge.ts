/**
 * The traffic edge: an HTTP server on 127.0.0.1 playing the cluster's load balancer. Each request is routed as
 * ingress-nginx (edge/ingress-nginx.ts) or a Gateway API implementation (edge/gateway-api.ts) would route it,
 * to a Service, to one of its Ready pods in turn, and answered as that pod's demo app version would
 * (demo-app.ts). No matching route: 404; no Ready pod behind the Service: 503. Requests routed through an
 * Ingress are counted as ingress-nginx counts them, on a metrics port of their own (edge/metrics.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "./clock.ts";
import { SERVICES, type Pod } from "./controllers/types.ts";
import { demoAppResponse } from "./demo-app.ts";
import { Backends, type ServiceRef } from "./edge/backends.ts";
import { routeHttpRoute } from "./edge/gateway-api.ts";
import { requestHost } from "./edge/hosts.ts";
import { routeIngress } from "./edge/ingress-nginx.ts";
import { EdgeMetrics, serveMetrics, upstreamName, type IngressRequestLabels } from "./edge/metrics.ts";
import { RouteView, type RouteSource } from "./edge/route-view.ts";
import { behaviourForImage, type Scenario } from "./scenario.ts";
import type { Store } from "./store.ts";

export interface EdgeOptions {
  port?: number;
  /** Port of the Prometheus metrics endpoint (default: a free one). */
  metricsPort?: number;
  scenario: () => Scenario;
  /** When the pod's container started its current run (simulated ms), for app failures with afterSeconds. */
  runningSince: (podUid: string) => number | undefined;
}

export interface Edge {
  url: string;
  /** ingress-nginx-compatible metrics in Prometheus text format (`http://127.0.0.1:<port>/metrics`). */
  metricsUrl: string;
  close(): Promise<void>;
}

/** Which controller answers a request, and where it sends it. */
export type EdgeRoute =
  | {
      controller: "ingress-nginx" | "gateway-api";
      service: ServiceRef;
      detail: string;
      /** ingress-nginx only: what its metrics record of the request (method and host are the request's). */
      metrics?: Omit<IngressRequestLabels, "method" | "host">;
    }
  | { controller: "ingress-nginx" | "gateway-api"; status: number; detail: string }
  | undefined;

export function routeRequest(
  store: Store,
  routes: RouteSource,
  scenario: Scenario,
  req: { host: string; method: string; path: string; query: URLSearchParams; headers: IncomingMessage["headers"] },
): EdgeRoute {
  const mode = scenario.edge.controller;
  const viaIngress = () => {
    const d = routeIngress(routes, req);
    if (!d) return undefined;
    const loc = d.location;
    return {
      controller: "ingress-nginx" as const,
      service: d.service,
      detail: `ingress ${d.ingress}${d.canary ? " (canary)" : ""}`,
      metrics: {
        namespace: loc.service.namespace,
        ingress: loc.ingress,
        service: loc.service.name,
        path: loc.path,
        canary: d.canary ? upstreamName(d.service.namespace, d.service.name, d.service.port) : "",
      },
    };
  };
  const viaGateway = (): EdgeRoute => {
    const d = routeHttpRoute(routes, req);
    if (!d) return undefined;
    if ("status" in d) return { controller: "gateway-api", status: d.status, detail: `httproute ${d.route}` };
    // An invalid backendRef (no such Service) answers 500, as the Gateway API spec requires.
    if (!store.get(SERVICES, d.service.namespace, d.service.name))
      return { controller: "gateway-api", status: 500, detail: `httproute ${d.route}: service ${d.service.name} not found` };
    return { controller: "gateway-api", service: d.service, detail: `httproute ${d.route} -> ${d.backend}` };
  };
  if (mode === "ingress-nginx") return viaIngress();
  if (mode === "gateway-api") return viaGateway();
  return viaGateway() ?? viaIngress();
}

export async function startEdge(store: Store, clock: Clock, opts: EdgeOptions): Promise<Edge> {
  const backends = new Backends(store);
  const metrics = new EdgeMetrics();
  const routes = new RouteView(store, clock, () => opts.scenario().edge.propagationSeconds);
  routes.start();
  const server = createServer((req, res) =>
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`edge error: ${(err as Error).message}\n`);
    }),
  );
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const scenario = opts.scenario();
    const url = new URL(req.url ?? "/", "http://edge");
    const host = requestHost(req.headers.host, scenario.edge.defaultHost);
    const route = routeRequest(store, routes, scenario, {
      host,
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    });
    req.resume();
    const timing: { upstreamSeconds?: number } = {};
    if (route && "metrics" in route && route.metrics) {
      const labels = { ...route.metrics, method: req.method ?? "GET", host };
      // As nginx logs it: when the response is done, or 499 when the client went away first.
      res.once("close", () =>
        metrics.observe(labels, res.writableFinished ? res.statusCode : 499, (performance.now() - started) / 1000, timing.upstreamSeconds),
      );
    }
    if (!route)
      return send(
        res,
        404,
        { "Content-Type": "text/html" },
        "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>\n",
      );
    if ("status" in route)
      return send(res, route.status, { "Content-Type": "text/plain", "X-Sim-Route": route.detail }, `${route.status} ${route.detail}\n`);
    const pod: Pod | undefined = backends.pick(route.service);
    if (!pod) {
      return send(
        res,
        503,
        { "Content-Type": "text/html", "X-Sim-Route": route.detail },
        "<html><head><title>503 Service Temporarily Unavailable</title></head>" +
          "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n",
      );
    }
    const image = pod.spec.containers[0]?.image ?? "";
    const behaviour = behaviourForImage(scenario, image);
    const upstreamStarted = performance.now();
    const since = opts.runningSince(pod.metadata.uid!);
    const answer = demoAppResponse(
      { method: req.method ?? "GET", path: url.pathname, headers: req.headers },
      {
        podName: pod.metadata.name,
        version: behaviour.version,
        app: behaviour.app,
        runningForSeconds: since === undefined ? undefined : (clock.nowMs() - since) / 1000,
      },
    );
    if (answer.delayMs > 0) await new Promise((r) => setTimeout(r, answer.delayMs));
    timing.upstreamSeconds = (performance.now() - upstreamStarted) / 1000;
    send(res, answer.status, { ...answer.headers, "X-Sim-Route": route.detail }, req.method === "HEAD" ? "" : answer.body);
  }

  function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, "Content-Length": String(Buffer.byteLength(body)) });
    res.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let metricsServer;
  try {
    metricsServer = await serveMetrics(metrics, opts.metricsPort);
  } catch (err) {
    routes.stop();
    server.close();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    metricsUrl: metricsServer.url,
    close: async () => {
      await new Promise<void>((resolve) => {
        routes.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await metricsServer.close();
    },
  };
}
