import { describe, expect, it } from "vitest";
import { canaryReplicasFor, shareOf } from "#src/traffic/replicas.ts";
import { createRouters, validateRouterInputs, type RouterInputs } from "#src/traffic/index.ts";
import { UsageError } from "#src/errors.ts";
import type { Kube } from "#src/kube/client.ts";

describe("replicas router sizing", () => {
  it("sizes the canary so its pod share approaches the weight, stable untouched", () => {
    expect(canaryReplicasFor(0, 4)).toBe(0);
    expect(canaryReplicasFor(10, 4)).toBe(1); // round(0.44) → at least 1: 20 % of pods
    expect(canaryReplicasFor(10, 18)).toBe(2); // 2 / 20 = 10 %
    expect(canaryReplicasFor(50, 4)).toBe(4);
    expect(canaryReplicasFor(100, 4)).toBe(4); // the cap (default stable's replicas): 50 %, never 100 %
    expect(canaryReplicasFor(100, 4, 12)).toBe(12);
    expect(canaryReplicasFor(90, 4, 12)).toBe(12); // round(36) capped
    expect(shareOf(1, 4)).toBe(20);
    expect(shareOf(0, 0)).toBe(0);
  });
});

describe("router inputs", () => {
  const kube = {} as Kube; // createRouters must not touch the cluster
  const svc = (name: string, ingress?: string) => ({
    name,
    stableDeployment: name,
    canaryDeployment: `${name}-canary`,
    stableService: name,
    canaryService: `${name}-canary`,
    ...(ingress ? { ingress } : {}),
  });

  it("builds one ingress-nginx router per Ingress, so both QualiSys services share one canary Ingress", () => {
    const routers = createRouters(kube, {
      kind: "ingress-nginx",
      namespace: "production",
      services: [svc("qualisys-api", "production-ingress"), svc("qualisys-web", "production-ingress")],
    });
    expect(routers).toHaveLength(1);
    expect(routers[0]!.kind).toBe("ingress-nginx");
    expect(routers[0]!.canaryHeader()).toEqual({ name: "X-Canary", value: "always" });
  });

  it("builds one replicas router per service, without header routing", () => {
    const routers = createRouters(kube, { kind: "replicas", namespace: "production", services: [svc("a"), svc("b")] });
    expect(routers.map((r) => r.kind)).toEqual(["replicas", "replicas"]);
    expect(routers[0]!.canaryHeader()).toBeUndefined();
  });

  it.each<[string, RouterInputs]>([
    ["unknown kind", { kind: "istio" as never, namespace: "p", services: [svc("a")] }],
    ["no services", { kind: "replicas", namespace: "p", services: [] }],
    ["missing Ingress name", { kind: "ingress-nginx", namespace: "p", services: [svc("a")] }],
    ["missing HTTPRoute name", { kind: "gateway-api", namespace: "p", services: [svc("a")] }],
    [
      "same stable and canary Service",
      { kind: "gateway-api", namespace: "p", services: [{ ...svc("a"), httpRoute: "r", canaryService: "a" }] },
    ],
    [
      "header name with a space",
      { kind: "gateway-api", namespace: "p", canaryHeader: { name: "X Canary", value: "1" }, services: [{ ...svc("a"), httpRoute: "r" }] },
    ],
    [
      "header value with a newline",
      {
        kind: "gateway-api",
        namespace: "p",
        canaryHeader: { name: "X-Canary", value: "a\r\nb" },
        services: [{ ...svc("a"), httpRoute: "r" }],
      },
    ],
    ["duplicate service", { kind: "replicas", namespace: "p", services: [svc("a"), svc("a")] }],
  ])("refuses %s with a UsageError", (_what, inputs) => {
    expect(() => validateRouterInputs(inputs)).toThrow(UsageError);
  });
});
