/**
 * The edge's Prometheus metrics, as ingress-nginx exposes them on its metrics port (10254, `/metrics`) for the
 * requests it routes through an Ingress (its internal/ingress/metric/collectors/socket.go and lua/monitor.lua):
 *
 * - `nginx_ingress_controller_requests` (counter) and the histograms `nginx_ingress_controller_request_duration_seconds`
 *   (the whole request) and `nginx_ingress_controller_response_duration_seconds` (the upstream's answer), with
 *   the labels `status, method, path, namespace, ingress, service, canary, host` and the constant labels
 *   `controller_namespace, controller_class, controller_pod`;
 * - `ingress` and `service` name the MAIN Ingress's location even when the request went to the canary (nginx
 *   sets them in the location block); `canary` is the alternative upstream's name (`<namespace>-<service>-<port>`)
 *   when the canary answered, and empty otherwise. Queries tell canary from stable by `canary!=""` / `canary=""`.
 *
 * prom-client writes the exposition format; buckets are client_golang's defaults, as ingress-nginx's.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Registry } from "prom-client";

/** What ingress-nginx knows of one routed request when it logs its metrics. */
export interface IngressRequestLabels {
  namespace: string;
  /** The main (non-canary) Ingress of the matched location. */
  ingress: string;
  /** The main location's Service. */
  service: string;
  /** The location's path as written in the Ingress ("/"). */
  path: string;
  host: string;
  method: string;
  /** The alternative (canary) upstream's name when the canary answered, else "". */
  canary: string;
}

const LABELS = ["status", "method", "path", "namespace", "ingress", "service", "canary", "host"] as const;
/** client_golang's prometheus.DefBuckets, which ingress-nginx uses for its time histograms. */
const TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class EdgeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<(typeof LABELS)[number]>;
  private readonly requestDuration: Histogram<(typeof LABELS)[number]>;
  private readonly responseDuration: Histogram<(typeof LABELS)[number]>;

  constructor() {
    this.registry.setDefaultLabels({
      controller_namespace: "ingress-nginx",
      controller_class: "k8s.io/ingress-nginx",
      controller_pod: "ingress-nginx-controller-sim",
    });
    const common = { labelNames: LABELS, registers: [this.registry] };
    this.requests = new Counter({ name: "nginx_ingress_controller_requests", help: "The total number of client requests", ...common });
    this.requestDuration = new Histogram({
      name: "nginx_ingress_controller_request_duration_seconds",
      help: "The request processing time in milliseconds",
      buckets: TIME_BUCKETS,
      ...common,
    });
    this.responseDuration = new Histogram({
      name: "nginx_ingress_controller_response_duration_seconds",
      help: "The time spent on receiving the response from the upstream server",
      buckets: TIME_BUCKETS,
      ...common,
    });
  }

  /**
   * One request routed through an Ingress: its status, the whole request's duration and, when an upstream pod
   * answered, the upstream's share of it (seconds).
   */
  observe(labels: IngressRequestLabels, status: number, requestSeconds: number, upstreamSeconds?: number): void {
    const l = { ...labels, status: String(status) };
    this.requests.inc(l);
    this.requestDuration.observe(l, requestSeconds);
    if (upstreamSeconds !== undefined) this.responseDuration.observe(l, upstreamSeconds);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The alternative upstream's name ingress-nginx gives a canary backend: `<namespace>-<service>-<port>`. */
export function upstreamName(namespace: string, service: string, port: number | string | undefined): string {
  return `${namespace}-${service}-${port ?? ""}`;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** `/metrics` on its own 127.0.0.1 port, as the controller's metrics port is apart from the traffic it routes. */
export async function serveMetrics(metrics: EdgeMetrics, port = 0): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if ((req.url ?? "/").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("404 page not found\n");
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => res.writeHead(200, { "Content-Type": contentType }).end(body),
      (err: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
