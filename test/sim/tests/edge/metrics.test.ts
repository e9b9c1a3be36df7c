/**
 * The edge's /metrics: what ingress-nginx records for each request it routes through an Ingress (labels of the
 * main location, `canary` set to the alternative upstream when the canary answered), in Prometheus text format.
 */
import { afterEach, describe, expect, it } from "vitest";
import { INGRESSES } from "../../controllers/types.ts";
import { ingress, startEdgeHarness, type EdgeHarness } from "./harness.ts";

const A = "nginx.ingress.kubernetes.io/";
const HOST = "app.qualisys.io";
let h: EdgeHarness;
afterEach(async () => h?.close());

/** Samples of one metric family from the exposition text: labels and value per line. */
async function scrape(name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const res = await fetch(h.edge.metricsUrl);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[2]!.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

async function stableAndCanary(weight: number): Promise<void> {
  h = await startEdgeHarness({
    edge: { defaultHost: HOST },
    images: [
      {
        tag: "2.*",
        app: {
          failures: [
            { status: 503, paths: ["/api/version"] },
            { latencyMs: 60, paths: ["/login"] },
          ],
        },
      },
    ],
  });
  await h.app("web", "web:1.0.0", 2);
  await h.app("web-canary", "web:2.0.0", 1);
  h.store.create(INGRESSES, ingress("web", HOST, "web"));
  h.store.create(INGRESSES, ingress("web-canary", HOST, "web-canary", { [A + "canary"]: "true", [A + "canary-weight"]: String(weight) }));
}

describe("edge metrics (ingress-nginx compatible)", () => {
  it("counts every routed request with the main location's labels; canary names the alternative upstream", async () => {
    await stableAndCanary(0);
    for (let i = 0; i < 5; i++) expect((await h.get("/api/health")).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await h.get("/api/version", { "X-Canary": "always" })).status).toBe(200);
    h.store.mutate(INGRESSES, "default", "web-canary", (o) => void (o.metadata.annotations![A + "canary-by-header"] = "X-Canary"));
    for (let i = 0; i < 3; i++) expect((await h.get("/api/version", { "X-Canary": "always" })).status).toBe(503);

    const requests = await scrape("nginx_ingress_controller_requests");
    const common = {
      namespace: "default",
      ingress: "web",
      service: "web",
      path: "/",
      host: HOST,
      method: "GET",
      controller_namespace: "ingress-nginx",
      controller_class: "k8s.io/ingress-nginx",
      controller_pod: "ingress-nginx-controller-sim",
    };
    expect(requests).toEqual(
      expect.arrayContaining([
        { labels: { ...common, status: "200", canary: "" }, value: 8 },
        // Routed to the canary: still the main Ingress and Service, `canary` is `<namespace>-<service>-<port>`.
        { labels: { ...common, status: "503", canary: "default-web-canary-80" }, value: 3 },
      ]),
    );
    expect(requests).toHaveLength(2);
  });

  it("records request durations in a histogram with ingress-nginx's buckets, latency included", async () => {
    await stableAndCanary(100);
    for (let i = 0; i < 4; i++) expect((await h.get("/login")).status).toBe(200);
    const buckets = await scrape("nginx_ingress_controller_request_duration_seconds_bucket");
    const canary = buckets.filter((b) => b.labels.canary === "default-web-canary-80" && b.labels.status === "200");
    expect(canary.map((b) => b.labels.le)).toEqual(["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]);
    // 60 ms of added latency: nothing at or below 50 ms, all four by 100 ms (a loaded machine may add up to 40 ms).
    const at = (le: string) => canary.find((b) => b.labels.le === le)!.value;
    expect(at("0.05")).toBe(0);
    expect(at("+Inf")).toBe(4);
    const upstream = await scrape("nginx_ingress_controller_response_duration_seconds_count");
    expect(upstream.find((s) => s.labels.canary === "default-web-canary-80")?.value).toBe(4);
  });

  it("does not count requests no Ingress routes, and serves nothing but /metrics", async () => {
    await stableAndCanary(0);
    expect((await h.get("/", { Host: "elsewhere.example" })).status).toBe(404);
    expect(await scrape("nginx_ingress_controller_requests")).toEqual([]);
    expect((await fetch(h.edge.metricsUrl.replace(/\/metrics$/, "/other"))).status).toBe(404);
  });
});
