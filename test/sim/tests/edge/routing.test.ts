/**
 * Route selection without HTTP: the precedence rules of the Gateway API spec (HTTPRoute matches) and of
 * ingress-nginx (host, then longest path; a canary only on its main Ingress's location).
 */
import { describe, expect, it } from "vitest";
import { GATEWAYS, HTTPROUTES, INGRESSES, REFERENCEGRANTS } from "../../controllers/types.ts";
import { routeHttpRoute } from "../../edge/gateway-api.ts";
import { requestHost } from "../../edge/hosts.ts";
import { routeIngress } from "../../edge/ingress-nginx.ts";
import { liveRoutes } from "../../edge/route-view.ts";
import { defaultResourceTypes } from "../../resources.ts";
import { Store, type KObject } from "../../store.ts";

let tick = 0;
const store = () => new Store(defaultResourceTypes(), { now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)) });
const gw = (s: Store) =>
  s.create(GATEWAYS, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "default" },
    spec: { gatewayClassName: "sim", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  });
const httpRoute = (name: string, hostnames: string[] | undefined, rules: Array<{ matches?: unknown[]; backend: string }>): KObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace: "default" },
  spec: {
    parentRefs: [{ name: "gw" }],
    ...(hostnames ? { hostnames } : {}),
    rules: rules.map((r) => ({ ...(r.matches ? { matches: r.matches } : {}), backendRefs: [{ name: r.backend, port: 80 }] })),
  },
});
const req = (path: string, headers: Record<string, string> = {}, host = "app.example.com", method = "GET") => ({
  host,
  path,
  method,
  headers,
  query: new URLSearchParams(path.split("?")[1] ?? ""),
});
const backendOf = (s: Store, r: ReturnType<typeof req>) => {
  const d = routeHttpRoute(liveRoutes(s), r, () => 0);
  return d && "service" in d ? d.service.name : d;
};

describe("HTTPRoute precedence", () => {
  it("Exact path, then the longest prefix, then method, then most headers, then most query params", () => {
    const s = store();
    gw(s);
    s.create(
      HTTPROUTES,
      httpRoute(
        "r",
        ["app.example.com"],
        [
          { backend: "catch-all" },
          { matches: [{ path: { type: "PathPrefix", value: "/api" } }], backend: "api" },
          { matches: [{ path: { type: "PathPrefix", value: "/api/v1" } }], backend: "api-v1" },
          { matches: [{ path: { type: "Exact", value: "/api" } }], backend: "exact" },
          { matches: [{ path: { type: "PathPrefix", value: "/api/v1" }, method: "POST" }], backend: "post" },
          { matches: [{ path: { type: "PathPrefix", value: "/api/v1" }, headers: [{ name: "x-a", value: "1" }] }], backend: "one-header" },
          {
            matches: [
              {
                path: { type: "PathPrefix", value: "/api/v1" },
                headers: [
                  { name: "x-a", value: "1" },
                  { name: "x-b", value: "2" },
                ],
              },
            ],
            backend: "two-headers",
          },
          { matches: [{ path: { type: "PathPrefix", value: "/api/v1" }, queryParams: [{ name: "q", value: "1" }] }], backend: "query" },
        ],
      ),
    );
    expect(backendOf(s, req("/other"))).toBe("catch-all");
    expect(backendOf(s, req("/api"))).toBe("exact");
    expect(backendOf(s, req("/api/x"))).toBe("api");
    expect(backendOf(s, req("/apix"))).toBe("catch-all"); // prefixes match whole path elements
    expect(backendOf(s, req("/api/v1/users"))).toBe("api-v1");
    expect(backendOf(s, req("/api/v1/users", {}, "app.example.com", "POST"))).toBe("post");
    expect(backendOf(s, req("/api/v1/users", { "x-a": "1" }))).toBe("one-header");
    expect(backendOf(s, req("/api/v1/users", { "x-a": "1", "x-b": "2" }))).toBe("two-headers");
    expect(backendOf(s, req("/api/v1/users?q=1"))).toBe("query");
    expect(backendOf(s, req("/api/v1/users", { "x-a": "1" }, "app.example.com", "POST"))).toBe("post"); // method before headers
  });

  it("between routes: the exact hostname, then the oldest route, then namespace/name", () => {
    const s = store();
    gw(s);
    s.create(HTTPROUTES, httpRoute("wild", ["*.example.com"], [{ backend: "wild" }]));
    s.create(HTTPROUTES, httpRoute("b-exact", ["app.example.com"], [{ backend: "b" }]));
    s.create(HTTPROUTES, httpRoute("a-exact-newer", ["app.example.com"], [{ backend: "a" }]));
    expect(backendOf(s, req("/"))).toBe("b"); // exact beats wildcard; older beats alphabetical
    expect(backendOf(s, req("/", {}, "deep.sub.example.com"))).toBe("wild"); // Gateway API wildcards span labels
    expect(backendOf(s, req("/", {}, "example.com"))).toBeUndefined();
  });

  it("a header match on the canary rule beats the weighted catch-all, and weights are relative to their sum", () => {
    const s = store();
    gw(s);
    s.create(HTTPROUTES, {
      ...httpRoute("r", undefined, []),
      spec: {
        parentRefs: [{ name: "gw" }],
        rules: [
          {
            backendRefs: [
              { name: "stable", weight: 1 },
              { name: "canary", weight: 3 },
            ],
          },
          { matches: [{ headers: [{ name: "X-Canary", value: "always" }] }], backendRefs: [{ name: "canary" }] },
        ],
      },
    });
    expect(routeHttpRoute(liveRoutes(s), req("/", { "x-canary": "always" }), () => 0)).toMatchObject({ service: { name: "canary" } });
    expect(routeHttpRoute(liveRoutes(s), req("/"), () => 0.24)).toMatchObject({ service: { name: "stable" } }); // [0, 1/4)
    expect(routeHttpRoute(liveRoutes(s), req("/"), () => 0.25)).toMatchObject({ service: { name: "canary" } }); // [1/4, 1)
  });
});

const ingress = (
  name: string,
  host: string | undefined,
  path: string,
  svc: string,
  ann: Record<string, string> = {},
  pathType = "Prefix",
): KObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: "default", annotations: ann },
  spec: {
    rules: [
      { ...(host ? { host } : {}), http: { paths: [{ path, pathType, backend: { service: { name: svc, port: { number: 80 } } } }] } },
    ],
  },
});
const nginx = (s: Store, path: string, host = "app.example.com", headers: Record<string, string> = {}) =>
  routeIngress(liveRoutes(s), { host, path, headers }, () => 0)?.service.name;

describe("ingress-nginx location choice", () => {
  it("exact host over wildcard (one label) over no host; longest path; Exact over Prefix", () => {
    const s = store();
    s.create(INGRESSES, ingress("default", undefined, "/", "fallback"));
    s.create(INGRESSES, ingress("wild", "*.example.com", "/", "wild"));
    s.create(INGRESSES, ingress("app", "app.example.com", "/", "app"));
    s.create(INGRESSES, ingress("app-api", "app.example.com", "/api", "api"));
    s.create(INGRESSES, ingress("app-exact", "app.example.com", "/api", "api-exact", {}, "Exact"));
    expect(nginx(s, "/")).toBe("app");
    expect(nginx(s, "/api/x")).toBe("api");
    expect(nginx(s, "/api")).toBe("api-exact");
    expect(nginx(s, "/", "other.example.com")).toBe("wild");
    expect(nginx(s, "/", "a.b.example.com")).toBe("fallback"); // an Ingress wildcard covers one label
    expect(nginx(s, "/", "elsewhere.org")).toBe("fallback");
  });

  it("a canary joins only its main Ingress's host and path", () => {
    const s = store();
    s.create(INGRESSES, ingress("main", "app.example.com", "/", "stable"));
    s.create(
      INGRESSES,
      ingress("canary-api", "app.example.com", "/api", "canary", {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "100",
      }),
    );
    expect(nginx(s, "/api/x")).toBe("stable"); // no main Ingress for /api: the canary is not a location
    s.create(
      INGRESSES,
      ingress("canary-root", "app.example.com", "/", "canary", {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "100",
      }),
    );
    expect(nginx(s, "/api/x")).toBe("canary");
  });

  it("treats an IP or localhost Host as the default host", () => {
    expect(requestHost("127.0.0.1:8080", "app.qualisys.io")).toBe("app.qualisys.io");
    expect(requestHost("localhost", "app.qualisys.io")).toBe("app.qualisys.io");
    expect(requestHost("API.Qualisys.io:443", "app.qualisys.io")).toBe("api.qualisys.io");
    expect(requestHost("127.0.0.1:8080", undefined)).toBe("127.0.0.1");
  });
});

// Gateway API spec: Listener.allowedRoutes (namespaces.from defaults to Same; kinds default to the listener
// protocol's route kinds), ParentReference.sectionName/port, and ReferenceGrant for cross-namespace backendRefs
// ("If a BackendRef is invalid, 500 status codes MUST be returned for requests ... routed to an invalid backend").
describe("HTTPRoute attachment and cross-namespace references", () => {
  const gateway = (s: Store, listeners: unknown[]) =>
    s.create(GATEWAYS, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra" },
      spec: { gatewayClassName: "sim", listeners },
    });
  const namespace = (s: Store, name: string, labels: Record<string, string> = {}) =>
    s.create("/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
  const appRoute = (parentRef: Record<string, unknown>, backend: Record<string, unknown> = { name: "web", port: 80 }): KObject => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "apps" },
    spec: { parentRefs: [{ name: "gw", namespace: "infra", ...parentRef }], rules: [{ backendRefs: [backend] }] },
  });
  const decide = (s: Store) => routeHttpRoute(liveRoutes(s), req("/"), () => 0);
  const setup = (listeners: unknown[]) => {
    const s = store();
    namespace(s, "infra");
    namespace(s, "apps", { team: "web" });
    gateway(s, listeners);
    return s;
  };

  it("a listener takes routes from its own namespace only, unless allowedRoutes says All or selects the namespace", () => {
    const same = setup([{ name: "http", port: 80, protocol: "HTTP" }]);
    same.create(HTTPROUTES, appRoute({}));
    expect(decide(same)).toBeUndefined();
    const all = setup([{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }]);
    all.create(HTTPROUTES, appRoute({}));
    expect(decide(all)).toMatchObject({ service: { namespace: "apps", name: "web" } });
    const selected = setup([
      {
        name: "http",
        port: 80,
        protocol: "HTTP",
        allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { team: "web" } } } },
      },
    ]);
    selected.create(HTTPROUTES, appRoute({}));
    expect(decide(selected)).toMatchObject({ service: { name: "web" } });
    const other = setup([
      {
        name: "http",
        port: 80,
        protocol: "HTTP",
        allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { team: "api" } } } },
      },
    ]);
    other.create(HTTPROUTES, appRoute({}));
    expect(decide(other)).toBeUndefined();
  });

  it("allowedRoutes.kinds, the listener protocol and the parentRef's sectionName/port choose the listeners a route may use", () => {
    const from = { namespaces: { from: "All" } };
    const grpcOnly = setup([{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { ...from, kinds: [{ kind: "GRPCRoute" }] } }]);
    grpcOnly.create(HTTPROUTES, appRoute({}));
    expect(decide(grpcOnly)).toBeUndefined();
    const tls = setup([{ name: "tls", port: 443, protocol: "TLS", allowedRoutes: from }]);
    tls.create(HTTPROUTES, appRoute({}));
    expect(decide(tls)).toBeUndefined();
    const two = () =>
      setup([
        { name: "closed", port: 80, protocol: "HTTP" },
        { name: "open", port: 8080, protocol: "HTTP", allowedRoutes: from },
      ]);
    for (const [ref, attached] of [
      [{ sectionName: "open" }, true],
      [{ sectionName: "closed" }, false],
      [{ port: 8080 }, true],
      [{ port: 80 }, false],
      [{}, true],
    ] as const) {
      const s = two();
      s.create(HTTPROUTES, appRoute(ref));
      expect(decide(s) !== undefined, JSON.stringify(ref)).toBe(attached);
    }
  });

  it("a backendRef into another namespace is a 500 until a ReferenceGrant there permits it", () => {
    const s = setup([{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }]);
    namespace(s, "backend");
    s.create(HTTPROUTES, appRoute({}, { name: "api", namespace: "backend", port: 80 }));
    expect(decide(s)).toMatchObject({ status: 500 });
    const grant = (name: string, from: Record<string, string>, to: Record<string, string>) =>
      s.create(REFERENCEGRANTS, {
        apiVersion: "gateway.networking.k8s.io/v1beta1",
        kind: "ReferenceGrant",
        metadata: { name, namespace: "backend" },
        spec: { from: [from], to: [to] },
      });
    grant(
      "wrong-namespace",
      { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "elsewhere" },
      { group: "", kind: "Service" },
    );
    grant(
      "wrong-name",
      { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "apps" },
      { group: "", kind: "Service", name: "other" },
    );
    expect(decide(s)).toMatchObject({ status: 500 });
    grant(
      "apps-to-api",
      { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "apps" },
      { group: "", kind: "Service", name: "api" },
    );
    expect(decide(s)).toMatchObject({ service: { namespace: "backend", name: "api" } });
  });
});
