/**
 * The journal (pipeline/journal.ts), the one writer of the in-flight state, against the simulator: the step as
 * structure with a schemaVersion, writes that carry the last resourceVersion instead of a read, replayed writes
 * that were ours, another run's state left alone, and a state that does not match release.yaml not trusted.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseReleaseConfig } from "#src/config/load.ts";
import type { Kube } from "#src/kube/client.ts";
import {
  describeInFlight,
  inspectInFlight,
  Journal,
  parseInFlight,
  StateOwnedError,
  STATE_CONFIGMAP,
  stepLabelOf,
  untrustedBecause,
  type InFlightState,
} from "#src/pipeline/journal.ts";
import { driftFrom } from "#src/pipeline/recorded.ts";
import type { Sim } from "../sim/index.ts";
import { startBareSim } from "../support/bare-sim.ts";

const NS = "production";
let sim: Sim;
let kube: Kube;

beforeAll(async () => {
  ({ sim, kube } = await startBareSim(NS));
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.faults.clear();
  await kube.core.deleteNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS }).catch(() => undefined);
});

function state(id: string, over: Partial<InFlightState> = {}): InFlightState {
  const at = new Date().toISOString();
  return {
    schemaVersion: 2,
    id,
    tag: "1.1.0",
    holder: `run-${id}`,
    startedAt: at,
    updatedAt: at,
    step: { kind: "start" },
    passedWeight: 0,
    promotionStarted: false,
    router: { kind: "ingress-nginx", canaryHeader: { name: "X-Canary", value: "always" } },
    objects: [{ kind: "Ingress", namespace: NS, name: "production-ingress-canary" }],
    services: [
      {
        name: "qualisys-api",
        container: "qualisys-api",
        stable: {
          deployment: "qualisys-api-stable",
          service: "qualisys-api-stable",
          image: "api:1.0.0",
          version: "1.0.0",
          revision: "1",
          replicas: 4,
        },
        canary: { deployment: "qualisys-api-canary", service: "qualisys-api-canary", image: "api:1.1.0" },
        route: { ingress: "production-ingress" },
      },
    ],
    record: {
      id,
      command: "deploy",
      namespace: NS,
      tag: "1.1.0",
      triggeredBy: "tester",
      startedAt: at,
      outcome: "succeeded",
      services: [],
      steps: [],
    },
    ...over,
  };
}

const stored = async () => inspectInFlight(kube, NS);

describe("the journal", () => {
  it("writes the step as structure with a schemaVersion, each write carrying the last resourceVersion (no read before it)", async () => {
    const journal = await Journal.open(kube, NS);
    expect(journal.found).toEqual({ kind: "none" });
    journal.begin(state("rec-1"));
    sim.faults.resetCounters();
    await journal.enter({ kind: "canary", weight: 10 });
    journal.passed(10);
    journal.canaryDigest("qualisys-api", `sha256:${"a".repeat(64)}`);
    await journal.enter({ kind: "canary", weight: 50 });
    await journal.promotionStarting();
    // One create, then one replace per write: nothing read in between.
    expect(sim.faults.requests().byVerb).toEqual({ create: 1, update: 2 });
    const s = await stored();
    expect(s.kind === "ok" && s.state).toMatchObject({
      schemaVersion: 2,
      step: { kind: "promote" },
      passedWeight: 10,
      promotionStarted: true,
      services: [{ canary: { digest: `sha256:${"a".repeat(64)}` } }],
    });
    sim.faults.resetCounters();
    await journal.clear();
    expect(sim.faults.requests().byVerb).toEqual({ delete: 1 });
    expect(await stored()).toEqual({ kind: "none" });
  });

  it("a create or replace applied but answered 503, then replayed (409), is ours: the write is done", async () => {
    const journal = await Journal.open(kube, NS);
    journal.begin(state("rec-2"));
    sim.faults.add({ verb: "create", resource: "configmaps", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    await journal.enter({ kind: "canary", weight: 10 });
    sim.faults.add({ verb: "update", resource: "configmaps", times: 1, fault: { type: "status", code: 503, afterApply: true } });
    await journal.enter({ kind: "canary", weight: 50 });
    expect(sim.faults.active()).toEqual([]);
    const s = await stored();
    expect(s.kind === "ok" && s.state.step).toEqual({ kind: "canary", weight: 50 });
    await journal.clear();
  });

  it("leaves another run's state alone: neither overwritten nor deleted", async () => {
    const mine = await Journal.open(kube, NS);
    mine.begin(state("rec-3"));
    await mine.enter({ kind: "canary", weight: 10 });
    // Another run writes its own state over ours (a forced takeover).
    const theirs = await Journal.open(kube, NS);
    theirs.begin(state("rec-4"), "rec-3");
    await theirs.rollingBack();
    await expect(mine.enter({ kind: "canary", weight: 50 })).rejects.toBeInstanceOf(StateOwnedError);
    await expect(mine.clear()).rejects.toBeInstanceOf(StateOwnedError);
    const s = await stored();
    expect(s.kind === "ok" && s.state.id).toBe("rec-4");
    await theirs.clear();
  });

  it("says what a stored state is: unreadable text, an earlier version's state, or a step in words", () => {
    expect(parseInFlight(undefined)).toEqual({ ok: false, reason: "it has no inflight.json" });
    expect(parseInFlight("{")).toMatchObject({ ok: false, reason: expect.stringMatching(/is not JSON/) });
    const v1 = { id: "x", tag: "1.0", step: "canary 10%", passedWeight: 0, services: [{ previousTemplate: {} }] };
    expect(parseInFlight(JSON.stringify(v1))).toEqual({
      ok: false,
      reason: "inflight.json has schemaVersion null, this release-gate reads 2 (written by an earlier version)",
    });
    expect(parseInFlight(JSON.stringify(state("rec-5")))).toMatchObject({ ok: true });
    expect(stepLabelOf({ kind: "canary", weight: 10, held: true })).toBe("canary 10% (held for the operator)");
    expect(describeInFlight(state("rec-6", { step: { kind: "canary", weight: 50 }, passedWeight: 10 }))).toMatch(
      /^release 1\.1\.0 \(started .* by tester\) stopped at "canary 50%" \(.*stable untouched, highest passed weight 10\)$/,
    );
  });

  it("does not trust a state whose services name other Deployments than release.yaml", () => {
    const config = parseReleaseConfig(readFileSync("kubernetes/production/release.yaml", "utf8"));
    expect(untrustedBecause(state("rec-7"), config)).toBeUndefined();
    const forged = state("rec-8");
    forged.services[0]!.stable.deployment = "payments";
    expect(untrustedBecause(forged, config)).toBe(
      "it does not match release.yaml: qualisys-api names Deployments payments, qualisys-api-canary (container qualisys-api)",
    );
    // A service release.yaml no longer names is drift, not distrust: acted on from the recorded objects once the
    // cluster shows release-gate changed them (droppedUntrustedBecause, test/pipeline/drift.test.ts).
    const dropped = state("rec-9");
    dropped.services[0]!.name = "billing";
    expect(untrustedBecause(dropped, config)).toBeUndefined();
    expect(driftFrom(dropped, config)).toEqual([
      "release.yaml no longer names service billing, which the interrupted release changed (Ingress production-ingress, Deployments " +
        "qualisys-api-stable and qualisys-api-canary)",
      "release.yaml names service qualisys-api, which the interrupted release did not touch: it is left as it is",
      "release.yaml names service qualisys-web, which the interrupted release did not touch: it is left as it is",
    ]);
  });
});
