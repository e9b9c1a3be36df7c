import { afterEach, describe, expect, it } from "vitest";
import { deploy } from "#src/pipeline/deploy.ts";
import { OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { maxWeight, stableTemplateImages } from "../support/invariants.ts";
import { HTTPROUTES } from "../support/pipeline-harness.ts";
import { digestOf, expectInvariants, expectResting, image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each(["ingress-nginx", "gateway-api", "replicas"] as const)("happy path through %s", (router) => {
  it("moves both services together 10 → 50 → 100, promotes, and ends at rest on the new version", async () => {
    h = await startHarness({ router });
    const record = await deploy(h.env, { tag: "1.1.0" });
    expect(record.outcome).toBe("succeeded");
    expect(record.steps.map((s) => [s.name, s.result])).toEqual([
      ["canary 10%", "passed"],
      ["canary 50%", "passed"],
      ["canary 100%", "passed"],
      ["promote", "passed"],
    ]);
    await expectResting(h, "1.1.0", "succeeded");
    expectInvariants(h);
    // Both services were released by the one run, stable touched once (at promotion).
    // Stable runs exactly what the canary ran: the digest its pods reported, not the tag (which could move).
    for (const svc of ["qualisys-api", "qualisys-web"])
      expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD), pinned(svc, "1.1.0")]);
    expect(maxWeight(h.events, router)).toBeGreaterThanOrEqual(router === "replicas" ? 45 : 100);
    if (router !== "replicas") {
      expect(record.steps[0].smoke.some((s) => s.canary && s.ok)).toBe(true);
      expect(record.steps[0].observedSplit?.length).toBe(2);
    }
    // Kubernetes Events on both stable Deployments say what happened.
    const events = h.sim.store.list("/v1/events", "production").items as any[];
    for (const svc of ["qualisys-api", "qualisys-web"]) {
      expect(events.find((e) => e.involvedObject.name === `${svc}-stable` && e.reason === "ReleaseSucceeded")?.message).toMatch(
        /release-gate deploy 1.1.0 by tester: succeeded/,
      );
    }
    // The record names both: the tag released and the digest the canary ran, which stable now runs.
    for (const s of record.services) {
      expect(s.newImage).toBe(image(s.name, "1.1.0"));
      expect(s.digest).toBe(digestOf(s.name, "1.1.0"));
      expect(s.finalImage).toBe(pinned(s.name, "1.1.0"));
    }
    if (router === "gateway-api") {
      // One HTTPRoute per service: both reach each phase's weight before either moves on.
      expect(weightSequence(h, "qualisys-api")).toEqual([0, 10, 50, 100, 0]);
      expect(weightSequence(h, "qualisys-web")).toEqual([0, 10, 50, 100, 0]);
      expect(phasesInLockstep(h)).toEqual([]);
    }
  });
});

function routeWeight(route: any, service: string): number {
  const rule = route.spec.rules.find((r: any) => !r.matches?.some((m: any) => m.headers?.length));
  return rule.backendRefs.find((b: any) => b.name === `${service}-canary`)?.weight ?? 0;
}

function weightSequence(h: Harness, service: string): number[] {
  const seq: number[] = [];
  for (const r of h.events) {
    if (r.event.typeKey !== HTTPROUTES || r.event.object.metadata.name !== service) continue;
    const w = routeWeight(r.event.object, service);
    if (seq.at(-1) !== w) seq.push(w);
  }
  return seq;
}

/** Violations of "no route moves to the next weight before every route has reached the current one". */
function phasesInLockstep(h: Harness): string[] {
  const current = new Map<string, number>([
    ["qualisys-api", 0],
    ["qualisys-web", 0],
  ]);
  const out: string[] = [];
  for (const r of h.events) {
    if (r.event.typeKey !== HTTPROUTES) continue;
    const svc = r.event.object.metadata.name;
    const w = routeWeight(r.event.object, svc);
    const others = [...current].filter(([k]) => k !== svc).map(([, v]) => v);
    const prev = current.get(svc)!;
    if (w > prev && others.some((o) => o < prev)) out.push(`${svc} moved to ${w} while another route was still below ${prev}`);
    current.set(svc, w);
  }
  return out;
}
