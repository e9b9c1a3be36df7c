/**
 * A corrupt release-gate-state ConfigMap (truncated, or hand-edited into something that is not a release) must
 * not block repair: `status` says it is unreadable and what to do; `rollback` returns production to rest from
 * the live objects and says plainly that stable's previous template could not be restored.
 */
import { afterEach, describe, expect, it } from "vitest";
import { canary, rollback } from "#src/pipeline/operator.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { UsageError } from "#src/errors.ts";
import { readStatus } from "#src/pipeline/status.ts";
import { statusToText } from "#src/pipeline/status-text.ts";
import { inspectInFlight, parseInFlight, STATE_CONFIGMAP } from "#src/pipeline/journal.ts";
import { deployment, DEPLOYMENTS, INGRESSES, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function rewriteState(h: Harness, edit: (text: string) => string): Promise<void> {
  const cm = await h.env.kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS });
  cm.data = { "inflight.json": edit(cm.data!["inflight.json"]!) };
  await h.env.kube.core.replaceNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS, body: cm });
}

describe("a corrupt in-flight state", () => {
  it("truncated: status reports it unreadable with what to do; rollback repairs from the live objects and says what it could not restore", async () => {
    h = await startHarness({});
    await canary(h.env, { tag: "2.1.0", weight: 50 });
    await rewriteState(h, (text) => text.slice(0, Math.floor(text.length / 2)));

    const status = await readStatus(h.env);
    expect(status.inFlight).toBeNull();
    expect(status.resting).toBe(false);
    expect(status.stateUnreadable?.reason).toMatch(/inflight\.json is not JSON/);
    const text = statusToText(status);
    expect(text).toMatch(/in flight: UNREADABLE — the in-flight state \(ConfigMap release-gate-state\) is unreadable/);
    expect(text).toMatch(/`release-gate rollback` returns production to rest from the live objects/);
    expect(text).toMatch(/cannot restore stable's previous revision/);

    const record = await rollback(h.env, { reason: "state was corrupt" });
    expect(record.outcome).toBe("rolled-back");
    expect(record.steps.at(-1)?.detail).toMatch(
      /weight 0 verified, canary scaled to 0; the in-flight state could not be used \(inflight\.json is not JSON.*its previous revision is not known/,
    );
    expect(h.log.some((l) => /^warn .*unreadable.*Rolling back from the live objects now/.test(l))).toBe(true);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(deployment(h.sim, `${svc}-canary`).spec.replicas).toBe(0);
    await expectResting(h, OLD, "rolled-back");
    expect((await readStatus(h.env)).stateUnreadable).toBeNull();
  });

  it("hand-edited into valid JSON that is not a release: named by path, and no SyntaxError anywhere", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    await canary(h.env, { tag: "2.1.0", weight: 10 });
    await rewriteState(h, (text) => JSON.stringify({ ...JSON.parse(text), services: "qualisys-api", passedWeight: "10" }));
    const stored = await inspectInFlight(h.env.kube, NS);
    expect(stored.kind).toBe("corrupt");
    expect(stored.kind === "corrupt" && stored.reason).toMatch(/passedWeight: .*; services: /);
    expect(parseInFlight(undefined)).toEqual({ ok: false, reason: "it has no inflight.json" });
    expect((await readStatus(h.env)).stateUnreadable?.advice).toMatch(/release-gate rollback/);
    await rollback(h.env, {});
    await expectResting(h, OLD, "rolled-back", ["qualisys-api"]);
  });

  it("is not read as 'nothing in flight': deploy refuses with nothing changed, deploy --repair repairs then releases", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    await canary(h.env, { tag: "2.1.0", weight: 10 });
    await rewriteState(h, (text) => text.slice(0, 20));
    // The lock is taken and given back before the state is read; production itself must be untouched.
    const production = () => JSON.stringify([DEPLOYMENTS, INGRESSES].map((t) => h!.sim.store.list(t, NS).items));
    const before = production();
    const refused = await deploy(h.env, { tag: "2.2.0" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toMatch(
      /refused: the in-flight state \(ConfigMap release-gate-state\) is unreadable.*nothing was changed/,
    );
    expect(production()).toBe(before);

    const record = await deploy(h.env, { tag: "2.2.0", repair: true });
    expect(record.outcome).toBe("succeeded");
    await expectResting(h, "2.2.0", "succeeded", ["qualisys-api"]);
  });
});
