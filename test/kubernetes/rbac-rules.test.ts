/** The derivation behind rbac.test.ts and npm run rbac:derive, on small inputs whose answer is known. */
import { describe, expect, it } from "vitest";
import { grantsOf, minimalRules, unusedGrants, type RecordedRequest } from "./rbac-rules.ts";

const req = (verb: string, resource: string, name?: string, apiGroup = "apps"): RecordedRequest => ({
  verb,
  apiGroup,
  resource: resource.split("/")[0]!,
  ...(resource.includes("/") ? { subresource: resource.split("/")[1]! } : {}),
  namespace: "production",
  ...(name ? { name } : {}),
  allowed: true,
});

describe("minimalRules", () => {
  it("names objects when every request of a verb named one, merges verbs on the same names, and names none for creates", () => {
    const rules = minimalRules([
      req("get", "deployments", "a"),
      req("patch", "deployments", "a"),
      req("get", "deployments", "b"),
      req("patch", "deployments", "b"),
      req("patch", "deployments/scale", "a"),
      req("create", "configmaps", undefined, ""),
    ]);
    expect(rules).toHaveLength(3);
    expect(rules).toEqual(
      expect.arrayContaining([
        { apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["a", "b"], verbs: ["get", "patch"] },
        { apiGroups: ["apps"], resources: ["deployments/scale"], resourceNames: ["a"], verbs: ["patch"] },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
      ]),
    );
  });

  it("one request without a name makes the verb's rule unnamed", () => {
    expect(minimalRules([req("list", "pods", "x", ""), req("list", "pods", undefined, "")])).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    ]);
  });
});

describe("unusedGrants", () => {
  const rbac = `
kind: Role
metadata: { name: r }
rules:
  - { apiGroups: [apps], resources: [deployments], resourceNames: [a, b], verbs: [get, delete] }
  - { apiGroups: [""], resources: [events], verbs: [create] }
`;
  it("flags every verb and name nothing used, and only those", () => {
    const unused = unusedGrants(grantsOf(rbac), [
      req("get", "deployments", "a"),
      req("get", "deployments", "b"),
      req("create", "events", undefined, ""),
    ]);
    expect(unused.map((g) => `${g.verb} ${g.name}`)).toEqual(["delete a", "delete b"]);
  });

  it("a refused request uses nothing", () => {
    expect(
      unusedGrants(grantsOf(rbac), [{ ...req("create", "events", undefined, ""), allowed: false }]).some((g) => g.resource === "events"),
    ).toBe(true);
  });
});
