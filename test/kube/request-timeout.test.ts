/**
 * The typed clients' per-request timeout: a read that gets no answer in time is retried (UND_ERR_HEADERS_TIMEOUT
 * is transient for reads), a write is not (it may still be applied), and watches are not timed out at all.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import { kubeFromConfig } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import { isTransientNetworkError } from "#src/kube/transient.ts";
import { startSim, type Sim } from "../sim/index.ts";

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const NS = "production";
const configMap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS }, data: { a: "1" } });

async function setup(requestTimeoutMs: number) {
  sim = await startSim({ scenario: { objects: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }, configMap("cm")] } });
  const kc = loadKubeConfig({ path: sim.kubeconfigPath });
  return { kc, kube: kubeFromConfig(kc, { retry: { minTimeoutMs: 20, maxTimeoutMs: 100, requestTimeoutMs } }) };
}

describe("per-request timeout", () => {
  it("a stalled read is retried and succeeds; a stalled write fails with the timeout, sent once", async () => {
    const { kube } = await setup(400);
    sim!.faults.add({ verb: "get", resource: "configmaps", times: 2, fault: { type: "latency", ms: 3_000 } });
    const cm = await kube.core.readNamespacedConfigMap({ name: "cm", namespace: NS });
    expect(cm.data).toEqual({ a: "1" });
    expect(sim!.faults.requests().byVerb.get).toBe(3);

    sim!.faults.add({ verb: "patch", resource: "configmaps", times: 1, fault: { type: "latency", ms: 3_000 } });
    const before = sim!.faults.requests().byVerb.patch ?? 0;
    const err = await kube.core
      .patchNamespacedConfigMap(
        { name: "cm", namespace: NS, body: { data: { a: "2" } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isTransientNetworkError(err, { idempotent: true })).toBe(true);
    expect(isTransientNetworkError(err)).toBe(false);
    expect((sim!.faults.requests().byVerb.patch ?? 0) - before).toBe(1);
  });

  it("a watch that stays quiet longer than the request timeout stays open and delivers the next change", async () => {
    const { kc, kube } = await setup(300);
    const events: string[] = [];
    let ended: unknown = "open";
    const req = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      {},
      (type, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata?.name}`),
      (e) => (ended = e ?? "ended"),
    );
    await new Promise((r) => setTimeout(r, 1_500));
    await kube.core.createNamespacedConfigMap({ namespace: NS, body: configMap("later") });
    // However slow the machine: the test's own timeout bounds the wait, never a count of polls.
    while (!events.includes("ADDED later") && ended === "open") await new Promise((r) => setTimeout(r, 20));
    expect(events).toContain("ADDED later");
    expect(ended).toBe("open");
    req.abort();
  });
});
