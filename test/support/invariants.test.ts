/** The invariant checkers themselves: each must flag the violation it exists for (a checker that cannot fail proves nothing). */
import { describe, expect, it } from "vitest";
import { checkI1, checkI3, stableTemplateImages } from "./invariants.ts";
import { DEPLOYMENTS, INGRESSES, PODS, type Recorded } from "./pipeline-harness.ts";

const API = ["qualisys-api"];
let rv = 0;
const ev = (typeKey: string, object: any, type: "ADDED" | "MODIFIED" | "DELETED" = "MODIFIED"): Recorded => ({
  at: 0,
  event: { type, typeKey, object, rv: ++rv },
});
const ingress = (weight: number) =>
  ev(INGRESSES, {
    metadata: { name: "production-ingress-canary", annotations: { "nginx.ingress.kubernetes.io/canary-weight": String(weight) } },
  });
const pod = (name: string, track: string, ready: boolean, image = "img:new") =>
  ev(PODS, {
    metadata: { name, labels: { app: "qualisys-api", track } },
    spec: { containers: [{ name: "qualisys-api", image }] },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
const deploymentEv = (name: string, replicas: number, image = "img:new") =>
  ev(DEPLOYMENTS, { metadata: { name }, spec: { replicas, template: { spec: { containers: [{ name: "qualisys-api", image }] } } } });

describe("invariant checkers", () => {
  it("I1 flags weight given to a canary without Ready pods, and a scale-down below what its weight needs", () => {
    const good = [
      deploymentEv("qualisys-api-canary", 1),
      pod("c1", "canary", true),
      ingress(10),
      ingress(0),
      deploymentEv("qualisys-api-canary", 0),
    ];
    expect(checkI1(good, "ingress-nginx", 4, API)).toEqual([]);
    const noPods = [deploymentEv("qualisys-api-canary", 1), pod("c1", "canary", false), ingress(10)];
    expect(checkI1(noPods, "ingress-nginx", 4, API)[0]).toMatch(/weight 0 → 10 with only 0 Ready canary pods/);
    const tooFew = [pod("c1", "canary", true), ingress(50)];
    expect(checkI1(tooFew, "ingress-nginx", 4, API)[0]).toMatch(/need 2/);
    const scaledFirst = [
      deploymentEv("qualisys-api-canary", 1),
      pod("c1", "canary", true),
      ingress(10),
      deploymentEv("qualisys-api-canary", 0),
    ];
    expect(checkI1(scaledFirst, "ingress-nginx", 4, API)[0]).toMatch(/canary scaled 1 → 0 while it still had weight 10/);
    // Lowering the weight: 50 → 10 first, then 2 → 1 pods is fine; 2 → 1 pods while still at 50 is not.
    const at50 = [deploymentEv("qualisys-api-canary", 2), pod("c1", "canary", true), pod("c2", "canary", true), ingress(50)];
    expect(checkI1([...at50, ingress(10), deploymentEv("qualisys-api-canary", 1)], "ingress-nginx", 4, API)).toEqual([]);
    expect(checkI1([...at50, deploymentEv("qualisys-api-canary", 1), ingress(10)], "ingress-nginx", 4, API)[0]).toMatch(
      /canary scaled 2 → 1 while it still had weight 50/,
    );
  });

  it("I3 flags traffic returned to a stable that is not fully on its template", () => {
    const base = [
      deploymentEv("qualisys-api-stable", 2, "img:old"),
      pod("s1", "stable", true, "img:old"),
      pod("c1", "canary", true),
      pod("c2", "canary", true),
      pod("c3", "canary", true),
      pod("c4", "canary", true),
      ingress(100),
    ];
    expect(checkI3([...base, pod("s2", "stable", true, "img:old"), ingress(0)], "ingress-nginx", API)).toEqual([]);
    expect(checkI3([...base, ingress(0)], "ingress-nginx", API)[0]).toMatch(/1\/2 Ready pods/);
    expect(checkI3([...base, pod("s2", "stable", true, "img:new"), ingress(0)], "ingress-nginx", API)[0]).toMatch(
      /1 on another image than img:old/,
    );
  });

  it("stableTemplateImages lists each change of stable's image once", () => {
    const events = [
      deploymentEv("qualisys-api-stable", 4, "a"),
      deploymentEv("qualisys-api-stable", 4, "a"),
      deploymentEv("qualisys-api-stable", 4, "b"),
      deploymentEv("qualisys-api-stable", 4, "a"),
    ];
    expect(stableTemplateImages(events, "qualisys-api")).toEqual(["a", "b", "a"]);
  });
});
