import { describe, expect, it } from "vitest";
import {
  type HTTPRoute,
  canaryShares,
  withCanaryRules,
  withWeight,
  withoutHeaderRules,
  weightedRuleIndexes,
} from "#src/traffic/gateway-api.ts";
import { FailedError } from "#src/errors.ts";

const header = { name: "X-Canary", value: "always" };
const api = { stableService: "qualisys-api", canaryService: "qualisys-api-canary" };

function route(): HTTPRoute {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "qualisys", namespace: "production", resourceVersion: "7" },
    spec: {
      parentRefs: [{ name: "public" }],
      hostnames: ["api.qualisys.io"],
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/health" } }], backendRefs: [{ name: "health-svc", port: 80 }] },
        { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "qualisys-api", port: 8080 }] },
      ],
    },
  };
}

describe("HTTPRoute rule building", () => {
  it("adds a canary backendRef at weight 0 and a header rule carrying the weighted rule's path matches", () => {
    const r = withCanaryRules(route(), [api], header);
    expect(r.spec.rules).toEqual([
      { matches: [{ path: { type: "PathPrefix", value: "/health" } }], backendRefs: [{ name: "health-svc", port: 80 }] },
      {
        matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [{ type: "Exact", name: "X-Canary", value: "always" }] }],
        backendRefs: [{ name: "qualisys-api-canary", port: 8080 }],
      },
      {
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        backendRefs: [
          { name: "qualisys-api", port: 8080 },
          { name: "qualisys-api-canary", port: 8080, weight: 0 },
        ],
      },
    ]);
    expect(canaryShares(r, [api], header)).toEqual([{ rule: 2, service: "qualisys-api", share: 0 }]);
  });

  it("is idempotent", () => {
    const once = withCanaryRules(route(), [api], header);
    expect(withCanaryRules(once, [api], header)).toEqual(once);
  });

  it("treats a rule without matches as PathPrefix / for the header rule", () => {
    const r = route();
    r.spec.rules = [{ backendRefs: [{ name: "qualisys-api", port: 80 }] }];
    const out = withCanaryRules(r, [api], header);
    expect(out.spec.rules![0]!.matches).toEqual([
      { path: { type: "PathPrefix", value: "/" }, headers: [{ type: "Exact", name: "X-Canary", value: "always" }] },
    ]);
  });

  it("sets stable 100−W and canary W on the weighted rule only", () => {
    const prepared = withCanaryRules(route(), [api], header);
    const w = withWeight(prepared, [api], header, 10);
    expect(w.spec.rules![2]!.backendRefs).toEqual([
      { name: "qualisys-api", port: 8080, weight: 90 },
      { name: "qualisys-api-canary", port: 8080, weight: 10 },
    ]);
    expect(w.spec.rules![1]!.backendRefs).toEqual([{ name: "qualisys-api-canary", port: 8080 }]);
    expect(canaryShares(w, [api], header)[0]!.share).toBe(10);
    expect(canaryShares(withWeight(prepared, [api], header, 100), [api], header)[0]!.share).toBe(100);
  });

  it("refuses to set a weight on a route that was not prepared, and says so", () => {
    expect(() => withWeight(route(), [api], header, 10)).toThrow(FailedError);
  });

  it("reset shape: header rules removed, canary back to 0", () => {
    const live = withWeight(withCanaryRules(route(), [api], header), [api], header, 50);
    const reset = withWeight(withoutHeaderRules(live, [api], header), [api], header, 0, true);
    expect(reset.spec.rules).toHaveLength(2);
    expect(canaryShares(reset, [api], header)[0]!.share).toBe(0);
  });

  it("computes shares proportionally, as Gateway API does (default weight 1)", () => {
    const r = route();
    r.spec.rules![1]!.backendRefs = [
      { name: "qualisys-api", port: 80, weight: 3 },
      { name: "qualisys-api-canary", port: 80 },
    ];
    expect(canaryShares(r, [api], header)[0]!.share).toBe(25);
  });

  it("ruleIndex picks one of the owner's rules, ignoring inserted header rules", () => {
    const r = route();
    r.spec.rules!.push({ matches: [{ path: { type: "PathPrefix", value: "/v2" } }], backendRefs: [{ name: "qualisys-api", port: 8080 }] });
    expect(weightedRuleIndexes(r, api, header)).toEqual([1, 2]);
    const prepared = withCanaryRules(r, [{ ...api, ruleIndex: 2 }], header);
    // The header rule for the /v2 rule was inserted before it; ruleIndex 2 still means the /v2 rule.
    expect(weightedRuleIndexes(prepared, { ...api, ruleIndex: 2 }, header)).toEqual([3]);
    expect(weightedRuleIndexes(r, { ...api, ruleIndex: 0 }, header)).toEqual([]);
  });
});
