import { describe, expect, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import {
  CANARY,
  CANARY_BY_HEADER,
  CANARY_BY_HEADER_VALUE,
  CANARY_WEIGHT,
  DERIVED_FROM_ANNOTATION,
  deriveCanaryIngress,
  weightFromAnnotations,
} from "#src/traffic/ingress-nginx.ts";
import { UsageError, FailedError } from "#src/errors.ts";
import { MANAGED_BY_LABEL } from "#src/traffic/router.ts";

const header = { name: "X-Canary", value: "always" };
const swaps = [
  { stableService: "qualisys-api", canaryService: "qualisys-api-canary" },
  { stableService: "qualisys-web", canaryService: "qualisys-web-canary" },
];

function stableIngress(): k8s.V1Ingress {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: "production-ingress",
      namespace: "production",
      uid: "u-1",
      resourceVersion: "42",
      labels: { app: "qualisys" },
      annotations: {
        "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
      },
    },
    spec: {
      ingressClassName: "nginx",
      tls: [
        { hosts: ["api.qualisys.io"], secretName: "api-tls" },
        { hosts: ["app.qualisys.io"], secretName: "app-tls" },
        { hosts: ["admin.qualisys.io"], secretName: "admin-tls" },
      ],
      rules: [
        {
          host: "api.qualisys.io",
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "qualisys-api", port: { number: 80 } } } }] },
        },
        {
          host: "app.qualisys.io",
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "qualisys-web", port: { name: "http" } } } },
              { path: "/static", pathType: "Prefix", backend: { service: { name: "cdn-proxy", port: { number: 80 } } } },
            ],
          },
        },
        {
          host: "admin.qualisys.io",
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "admin", port: { number: 80 } } } }] },
        },
      ],
    },
  };
}

describe("deriveCanaryIngress", () => {
  it("swaps each configured stable backend to its canary Service and keeps hosts, paths, ports, class and TLS", () => {
    const c = deriveCanaryIngress(stableIngress(), swaps, header);
    expect(c.metadata?.name).toBe("production-ingress-canary");
    expect(c.metadata?.namespace).toBe("production");
    expect(c.spec?.ingressClassName).toBe("nginx");
    expect(c.spec?.rules).toEqual([
      {
        host: "api.qualisys.io",
        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "qualisys-api-canary", port: { number: 80 } } } }] },
      },
      {
        host: "app.qualisys.io",
        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "qualisys-web-canary", port: { name: "http" } } } }] },
      },
    ]);
    // Paths and hosts not part of the release are left out (no canary for cdn-proxy or admin), and so is their TLS.
    expect(c.spec?.tls?.map((t) => t.secretName)).toEqual(["api-tls", "app-tls"]);
  });

  it("sets the canary annotations at the given weight with header routing, and carries only the allow-listed ones", () => {
    const a = deriveCanaryIngress(stableIngress(), swaps, header, 0).metadata!.annotations!;
    expect(a[CANARY]).toBe("true");
    expect(a[CANARY_WEIGHT]).toBe("0");
    expect(a[CANARY_BY_HEADER]).toBe("X-Canary");
    expect(a[CANARY_BY_HEADER_VALUE]).toBe("always");
    expect(a[DERIVED_FROM_ANNOTATION]).toBe("production-ingress");
    // ingress-nginx inherits the main Ingress's other annotations: none is copied, whatever controller reads it.
    expect(a["nginx.ingress.kubernetes.io/proxy-body-size"]).toBeUndefined();
    expect(a["cert-manager.io/cluster-issuer"]).toBeUndefined();
    expect(a["kubectl.kubernetes.io/last-applied-configuration"]).toBeUndefined();
    expect(Object.keys(a).sort()).toEqual(
      [CANARY, CANARY_BY_HEADER, CANARY_BY_HEADER_VALUE, CANARY_WEIGHT, DERIVED_FROM_ANNOTATION].sort(),
    );
    expect(deriveCanaryIngress(stableIngress(), swaps, header, 30).metadata!.annotations![CANARY_WEIGHT]).toBe("30");
  });

  it("carries the class and what shapes the canary's own upstream (balancing, session affinity)", () => {
    const s = stableIngress();
    Object.assign(s.metadata!.annotations!, {
      "kubernetes.io/ingress.class": "nginx",
      "nginx.ingress.kubernetes.io/load-balance": "ewma",
      "nginx.ingress.kubernetes.io/affinity": "cookie",
      "nginx.ingress.kubernetes.io/session-cookie-name": "route",
      "nginx.ingress.kubernetes.io/rewrite-target": "/",
    });
    const a = deriveCanaryIngress(s, swaps, header).metadata!.annotations!;
    expect(a).toMatchObject({
      "kubernetes.io/ingress.class": "nginx",
      "nginx.ingress.kubernetes.io/load-balance": "ewma",
      "nginx.ingress.kubernetes.io/affinity": "cookie",
      "nginx.ingress.kubernetes.io/session-cookie-name": "route",
    });
    expect(a["nginx.ingress.kubernetes.io/rewrite-target"]).toBeUndefined();
  });

  it("marks the canary as owned by release-gate and by the stable Ingress, without copying labels or server fields", () => {
    const m = deriveCanaryIngress(stableIngress(), swaps, header).metadata!;
    expect(m.labels).toEqual({ [MANAGED_BY_LABEL]: "release-gate", "release-gate.qualisys.io/role": "canary" });
    expect(m.ownerReferences).toEqual([{ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "production-ingress", uid: "u-1" }]);
    expect(m.resourceVersion).toBeUndefined();
    expect(m.uid).toBeUndefined();
  });

  it("does not carry what makes cert-manager, external-dns, GitOps tools or any other controller act on the canary too", () => {
    const s = stableIngress();
    Object.assign(s.metadata!.annotations!, {
      "external-dns.alpha.kubernetes.io/hostname": "api.qualisys.io",
      "argocd.argoproj.io/tracking-id": "prod:networking.k8s.io/Ingress:production/production-ingress",
      "some-new-controller.example.com/manage": "true",
    });
    Object.assign(s.metadata!.labels!, { "app.kubernetes.io/instance": "production" });
    const m = deriveCanaryIngress(s, swaps, header).metadata!;
    expect(Object.keys(m.annotations!).filter((k) => /cert-manager|external-dns|argocd|example\.com/.test(k))).toEqual([]);
    expect(m.labels!["app.kubernetes.io/instance"]).toBeUndefined();
  });

  it("does not let a stable Ingress's own canary annotations leak into the canary", () => {
    const s = stableIngress();
    s.metadata!.annotations!["nginx.ingress.kubernetes.io/canary-by-cookie"] = "beta";
    const a = deriveCanaryIngress(s, swaps, header).metadata!.annotations!;
    expect(a["nginx.ingress.kubernetes.io/canary-by-cookie"]).toBeUndefined();
  });

  it("swaps a matching defaultBackend too", () => {
    const s = stableIngress();
    s.spec!.defaultBackend = { service: { name: "qualisys-web", port: { number: 80 } } };
    expect(deriveCanaryIngress(s, swaps, header).spec?.defaultBackend?.service?.name).toBe("qualisys-web-canary");
  });

  it("does not change its input", () => {
    const s = stableIngress();
    const before = JSON.stringify(s);
    deriveCanaryIngress(s, swaps, header, 50);
    expect(JSON.stringify(s)).toBe(before);
  });

  it("refuses an Ingress that routes to none of the stable Services", () => {
    expect(() => deriveCanaryIngress(stableIngress(), [{ stableService: "nope", canaryService: "nope-canary" }], header)).toThrow(
      UsageError,
    );
  });
});

describe("weightFromAnnotations", () => {
  it("reads the weight only when canary is enabled", () => {
    expect(weightFromAnnotations({ [CANARY]: "true", [CANARY_WEIGHT]: "10" }, "x")).toBe(10);
    expect(weightFromAnnotations({ [CANARY]: "false", [CANARY_WEIGHT]: "10" }, "x")).toBe(0);
    expect(weightFromAnnotations({ [CANARY_WEIGHT]: "10" }, "x")).toBe(0);
    expect(weightFromAnnotations({ [CANARY]: "true" }, "x")).toBe(0);
  });

  it("honours canary-weight-total only above 100, as balancer.lua does", () => {
    expect(
      weightFromAnnotations({ [CANARY]: "true", [CANARY_WEIGHT]: "500", "nginx.ingress.kubernetes.io/canary-weight-total": "1000" }, "x"),
    ).toBe(50);
    expect(
      weightFromAnnotations({ [CANARY]: "true", [CANARY_WEIGHT]: "5", "nginx.ingress.kubernetes.io/canary-weight-total": "10" }, "x"),
    ).toBe(5);
  });

  it("refuses an unreadable weight instead of guessing", () => {
    expect(() => weightFromAnnotations({ [CANARY]: "true", [CANARY_WEIGHT]: "ten" }, "Ingress p/x")).toThrow(FailedError);
  });
});
