/**
 * Transient API trouble does not fail a release; one release at a time (I6); the skip-canary path; a
 * redeploy of what already runs; operator single steps with deploy's safety.
 */
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "#src/errors.ts";
import { LockHeldError } from "#src/kube/lease-lock.ts";
import { canary, promote, rollback } from "#src/pipeline/operator.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { readStatus } from "#src/pipeline/status.ts";
import { deployment, DEPLOYMENTS, INGRESSES, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { maxWeight, stableTemplateImages } from "../support/invariants.ts";
import { digestOf, expectInvariants, expectResting, image } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("transient API errors are retried and do not fail a release", () => {
  it("500s and 429s (with Retry-After) during the phases", async () => {
    h = await startHarness({});
    h.onStep("canary 10%", () => {
      h!.sim.faults.add({ verb: "patch", resource: "ingresses", times: 2, fault: { type: "status", code: 500 } });
      h!.sim.faults.add({ verb: "get", resource: "ingresses", times: 2, fault: { type: "status", code: 429, retryAfterSeconds: 0 } });
      h!.sim.faults.add({ verb: "patch", resource: "deployments", times: 2, fault: { type: "status", code: 503 } });
    });
    h.onStep("canary 50%", () => h!.sim.faults.add({ verb: "*", resource: "configmaps", times: 2, fault: { type: "reset" } }));
    const record = await deploy(h.env, { tag: "1.1.0" });
    expect(record.outcome).toBe("succeeded");
    expect(h.sim.faults.active().every((r) => r.remaining === 0)).toBe(true);
    await expectResting(h, "1.1.0", "succeeded");
    expectInvariants(h);
  });

  it("watches dropped mid-release are re-established; the release completes", async () => {
    h = await startHarness({ config: (d) => (d.phases[0].observe = "1s") });
    // The run's watches (Deployments, ReplicaSets, Pods) each end after one event, six times over.
    h.sim.faults.add({ verb: "watch", times: 6, fault: { type: "dropWatch", afterEvents: 1 } });
    const record = await deploy(h.env, { tag: "1.1.0" });
    expect(record.outcome).toBe("succeeded");
    // Watches really were dropped (and re-established) while the release ran.
    expect(h.sim.faults.active().find((r) => r.fault.type === "dropWatch")?.remaining ?? 0).toBe(0);
    await expectResting(h, "1.1.0", "succeeded");
  });
});

describe("one release at a time (I6)", () => {
  it("a second concurrent deploy is refused with the holder's identity; the first completes", async () => {
    h = await startHarness({ config: (d) => (d.phases[0].observe = "1s") });
    let second: unknown;
    h.onStep("canary 10%", () => {
      const other = { ...h!.env, identity: "second-run" };
      second = deploy(other, { tag: "1.2.0" }).then(
        () => "succeeded?!",
        (e: unknown) => e,
      );
    });
    const record = await deploy(h.env, { tag: "1.1.0" });
    const refusal = await second;
    expect(refusal).toBeInstanceOf(LockHeldError);
    expect((refusal as LockHeldError).message).toContain(h.env.identity);
    expect((refusal as LockHeldError).exitCode).toBe(2);
    expect(record.outcome).toBe("succeeded");
    await expectResting(h, "1.1.0", "succeeded");
  });
});

describe("--skip-canary", () => {
  it("without a reason is refused before anything changes", async () => {
    h = await startHarness({});
    const rv = h.sim.store.resourceVersion();
    await expect(deploy(h.env, { tag: "1.1.0", skipCanary: true })).rejects.toThrow(UsageError);
    expect(h.sim.store.resourceVersion()).toBe(rv);
  });

  it("with a reason goes straight to promote, records the reason, and never gives the canary traffic", async () => {
    h = await startHarness({});
    const record = await deploy(h.env, { tag: "1.1.1", skipCanary: true, reason: "hotfix for INC-42" });
    expect(record.skipCanary).toEqual({ reason: "hotfix for INC-42" });
    // No canary ran: stable went out by tag, and the record has the digest its pods run.
    expect(record.services[0]).toMatchObject({ newImage: image("qualisys-api", "1.1.1"), digest: digestOf("qualisys-api", "1.1.1") });
    expect(record.steps.map((s) => s.name)).toEqual(["promote"]);
    const rec = await expectResting(h, "1.1.1", "succeeded");
    expect(rec.skipCanary?.reason).toBe("hotfix for INC-42");
    expect(maxWeight(h.events, "ingress-nginx")).toBe(0);
    expect(
      h.events.some(
        (e) =>
          (e.event.object as any).metadata.name?.endsWith("-canary") &&
          (e.event.object as any).spec?.replicas > 0 &&
          e.event.typeKey === "apps/v1/deployments",
      ),
    ).toBe(false);
  });
});

describe("production changed by hand", () => {
  it("a canary scaled outside any release is refused until rollback returns production to rest", async () => {
    h = await startHarness({});
    const scaled = await h.kubectl.run(["scale", "deployment/qualisys-web-canary", "--replicas=1", "-n", "production"]);
    expect(scaled.exitCode).toBe(0);
    const specs = () =>
      JSON.stringify(
        [DEPLOYMENTS, INGRESSES].map((t) =>
          h!.sim.store.list(t, "production").items.map((o) => [o.metadata.name, o.spec, o.metadata.annotations]),
        ),
      );
    const before = specs();
    const refused = await deploy(h.env, { tag: "1.1.0" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toMatch(/not at rest \(qualisys-web-canary has 1 replicas\)/);
    // Only the lock was taken and given back; no Deployment or route changed.
    expect(specs()).toBe(before);
    await rollback(h.env, { reason: "hand-scaled canary" });
    expect((await deploy(h.env, { tag: "1.1.0" })).outcome).toBe("succeeded");
    await expectResting(h, "1.1.0", "succeeded");
  });
});

describe("a second deploy of the version already running", () => {
  it("changes nothing and records no-change", async () => {
    h = await startHarness({});
    await deploy(h.env, { tag: "1.1.0" });
    const eventsBefore = h.events.length;
    const record = await deploy(h.env, { tag: "1.1.0" });
    expect(record.outcome).toBe("no-change");
    expect(record.steps).toEqual([]);
    // No Deployment, route or pod changed during the second run.
    expect(h.events.slice(eventsBefore).filter((e) => e.event.typeKey !== "/v1/pods")).toEqual([]);
    await expectResting(h, "1.1.0", "no-change");
  });
});

describe("operator single steps", () => {
  it("canary 10 → 100 then promote, with promote refused before the canary passed at 100 (I3)", async () => {
    h = await startHarness({ router: "gateway-api" });
    await canary(h.env, { tag: "2.0.0", weight: 10 });
    const status = await readStatus(h.env);
    expect(status.inFlight?.passedWeight).toBe(10);
    expect(status.weights.every((w) => w.weight === 10)).toBe(true);
    expect(status.lock).toBeNull();
    await expect(promote(h.env, { tag: "2.0.0" })).rejects.toThrow(/passed at weight 100/);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD)]);
    await expect(canary(h.env, { tag: "2.0.1", weight: 50 })).rejects.toThrow(/is in flight/);
    await canary(h.env, { tag: "2.0.0", weight: 100 });
    const record = await promote(h.env, { tag: "2.0.0" });
    expect(record.outcome).toBe("succeeded");
    await expectResting(h, "2.0.0", "succeeded");
    expectInvariants(h);
  });

  it("a canary step that fails rolls back by itself and leaves nothing in flight", async () => {
    h = await startHarness({ scenario: { images: [{ tag: "bad-*", pod: { kind: "crashLoop" } }] } });
    const err = await canary(h.env, { tag: "bad-2", weight: 10 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/release of bad-2 failed at canary 10%: .*Rolled back automatically/);
    const rec = await expectResting(h, OLD, "rolled-back");
    expect(rec.command).toBe("canary");
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(h.events, svc)).toEqual([image(svc, OLD)]);
  });

  it("rollback from a held canary returns to rest; with nothing in flight it changes nothing and says so", async () => {
    h = await startHarness({});
    await canary(h.env, { tag: "2.1.0", weight: 50 });
    expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBe(2);
    const record = await rollback(h.env, { reason: "operator changed their mind" });
    expect(record.rollbackReason).toMatch(/operator changed their mind; interrupted release 2.1.0/);
    await expectResting(h, OLD, "rolled-back");
    const eventsBefore = h.events.length;
    const again = await rollback(h.env, {});
    expect(again.tag).toBe("(none in flight)");
    expect(again.finalState).toMatch(
      /^nothing was in flight and production was already at rest: nothing was changed\. All traffic on stable running /,
    );
    expect(again.steps).toEqual([]);
    const rec = await expectResting(h, OLD, "no-change");
    expect(rec.id).toBe(again.id);
    // No Deployment or route was written.
    expect(h.events.slice(eventsBefore).filter((e) => e.event.typeKey !== "/v1/pods")).toEqual([]);
    expectInvariants(h);
  });
});
