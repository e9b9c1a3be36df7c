/**
 * The in-flight state is a ConfigMap the `view` role can read and anyone with `update` on it can write (defect 6
 * of issue 9): it holds no pod template (no inline env value leaks through it), and a forged one cannot make
 * `rollback` apply anything to any Deployment: its services must be release.yaml's, and stable is only ever
 * restored from its own previous ReplicaSet.
 */
import { afterEach, describe, expect, it } from "vitest";
import { canary } from "#src/pipeline/operator.ts";
import { STATE_CONFIGMAP } from "#src/pipeline/journal.ts";
import { bin } from "../support/bin.ts";
import { deployment, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const VICTIM = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: payments, namespace: ${NS} }
spec:
  replicas: 1
  selector: { matchLabels: { app: payments } }
  template:
    metadata: { labels: { app: payments } }
    spec: { containers: [{ name: payments, image: "registry.example.com/payments:3.2.1" }] }
`;

async function stateText(h: Harness): Promise<string> {
  return (await h.env.kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS })).data!["inflight.json"]!;
}

describe("the in-flight state", () => {
  it("stores no pod template: an inline env value of stable's never reaches the ConfigMap", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const env = await h.kubectl.run(["set", "env", "deployment/qualisys-api-stable", "DB_PASSWORD=hunter2-inline", "-n", NS]);
    expect(env.exitCode, env.stderr).toBe(0);
    await expectStableRolledOut(h);
    await canary(h.env, { tag: "2.0.0", weight: 10 });
    const text = await stateText(h);
    expect(text).not.toContain("hunter2-inline");
    expect(text).not.toMatch(/"template"|"containers"/);
    // What a rollback needs instead: stable's revision, to find its own previous ReplicaSet again.
    expect(JSON.parse(text).services[0].stable).toMatchObject({ deployment: "qualisys-api-stable", revision: "2" });
  });

  it("forged to name another Deployment (and, for older versions, a template): rollback leaves that Deployment alone", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const applied = await h.kubectl.run(["apply", "-f", "-"], { input: VICTIM });
    expect(applied.exitCode, applied.stderr).toBe(0);
    await canary(h.env, { tag: "2.0.0", weight: 10 });
    const victimBefore = JSON.stringify(deployment(h.sim, "payments").spec.template);
    const victimGeneration = deployment(h.sim, "payments").metadata.generation;
    // Someone with `update` on the ConfigMap points the release at payments, says promotion started, and (in the
    // shape earlier versions stored) hands it a privileged template with another image.
    const forged = JSON.parse(await stateText(h), (_key, v: unknown) => (v === "qualisys-api-stable" ? "payments" : v));
    forged.promotionStarted = true;
    for (const s of forged.services) {
      if ("previousTemplate" in s) {
        s.previousTemplate.metadata.labels = { app: "payments" }; // what payments' selector accepts
        s.previousTemplate.spec.containers[0].image = "evil.example.com/miner:latest";
        s.previousTemplate.spec.containers[0].securityContext = { privileged: true };
      }
      if (s.stable) s.stable.revision = "1";
    }
    const cm = await h.env.kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS });
    await h.env.kube.core.replaceNamespacedConfigMap({
      name: STATE_CONFIGMAP,
      namespace: NS,
      body: { ...cm, data: { "inflight.json": JSON.stringify(forged) } },
    });
    const rb = await bin(h, ["rollback", "--reason", "forged state"]);
    // payments is exactly as it was; the release's own objects are back at rest (canary 0, weight 0).
    expect(JSON.stringify(deployment(h.sim, "payments").spec.template)).toBe(victimBefore);
    expect(deployment(h.sim, "payments").metadata.generation).toBe(victimGeneration);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(
      /it does not match release\.yaml: qualisys-api names Deployments payments.*Rolling back from the live objects now/,
    );
    await expectResting(h, OLD, "rolled-back", ["qualisys-api"]);
  });

  it("forged with a service release.yaml does not name: rollback acts on recorded objects only where release-gate wrote them", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const applied = await h.kubectl.run(["apply", "-f", "-"], { input: VICTIM });
    expect(applied.exitCode, applied.stderr).toBe(0);
    await canary(h.env, { tag: "2.0.0", weight: 10 });
    const victimBefore = JSON.stringify(deployment(h.sim, "payments").spec);
    // A "dropped service" whose canary is payments: release.yaml no longer names it, so it could pass for drift.
    const forged = JSON.parse(await stateText(h));
    forged.services.push({
      ...structuredClone(forged.services[0]),
      name: "billing",
      container: "payments",
      stable: { ...forged.services[0].stable, deployment: "payments" },
      canary: { ...forged.services[0].canary, deployment: "payments" },
    });
    const cm = await h.env.kube.core.readNamespacedConfigMap({ name: STATE_CONFIGMAP, namespace: NS });
    await h.env.kube.core.replaceNamespacedConfigMap({
      name: STATE_CONFIGMAP,
      namespace: NS,
      body: { ...cm, data: { "inflight.json": JSON.stringify(forged) } },
    });
    const rb = await bin(h, ["rollback", "--reason", "forged drift"]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(/it does not match release\.yaml: billing names Deployment payments, which release-gate never changed/);
    expect(JSON.stringify(deployment(h.sim, "payments").spec)).toBe(victimBefore);
    await expectResting(h, OLD, "rolled-back", ["qualisys-api"]);
  });
});

/** Stable rolled out its current template (after a change made by the test). */
async function expectStableRolledOut(h: Harness): Promise<void> {
  const r = await h.kubectl.run(["rollout", "status", "deployment/qualisys-api-stable", "-n", NS, "--timeout=60s"]);
  expect(r.exitCode, r.stderr).toBe(0);
}
