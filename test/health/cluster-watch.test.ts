/**
 * The run's view of its namespace (health/cluster-watch.ts) on the simulator: one list-watch per kind for the
 * whole run, so waiting for a rollout costs no request however many replicas roll; a wait that follows a change of
 * the run's own never mistakes the object from before the change for the result; the digests pods really run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterWatch, runningDigests, waitRolledOut } from "#src/health/index.ts";
import { scaleDeployment, setContainerImage } from "#src/kube/deployments.ts";
import { NS, startTrafficSim, type TrafficSim } from "../support/traffic-fixture.ts";

let t: TrafficSim;
let cluster: ClusterWatch;

beforeAll(async () => {
  t = await startTrafficSim("ingress-nginx");
  cluster = new ClusterWatch(t.kube, NS);
  await cluster.synced();
});
afterAll(async () => {
  await cluster?.stop();
  await t?.stop();
});

const requests = () => t.sim.faults.requests().total;

describe("the cluster watch", () => {
  it("waits for a rollout of many replicas without a single request", async () => {
    const write = await scaleDeployment(t.kube, NS, "qualisys-api-stable", 12);
    cluster.noteWrite(write);
    const before = requests();
    await waitRolledOut(cluster, { name: "qualisys-api-stable", timeoutMs: 60_000 });
    expect(requests() - before).toBe(0);
    expect(cluster.deployment("qualisys-api-stable")?.status?.availableReplicas).toBe(12);
  });

  it("after the run's own change, waits for that change: the object from before it, already rolled out, does not count", async () => {
    const image = "ghcr.io/qualisys/qualisys-api:1.0.1";
    cluster.noteWrite(await setContainerImage(t.kube, NS, "qualisys-api-stable", "app", image));
    await waitRolledOut(cluster, { name: "qualisys-api-stable", timeoutMs: 60_000 });
    // Every pod the Deployment counts runs the new template.
    const d = cluster.deployment("qualisys-api-stable")!;
    expect(d.spec?.template?.spec?.containers?.[0]?.image).toBe(image);
    expect(d.status?.updatedReplicas).toBe(12);
    const running = runningDigests(cluster, "qualisys-api-stable", "app");
    expect([...running.digests.keys()]).toEqual([expect.stringMatching(/^sha256:[a-f0-9]{64}$/)]);
    expect([...running.digests.values()][0]).toHaveLength(12);
    expect(running.unknown).toEqual([]);
  });

  it("fails at its deadline, naming what it waited for", async () => {
    cluster.noteWrite(await setContainerImage(t.kube, NS, "qualisys-api-stable", "app", "ghcr.io/qualisys/qualisys-api:1.0.2"));
    const err = await waitRolledOut(cluster, { name: "qualisys-api-stable", timeoutMs: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^Deployment qualisys-api-stable: not rolled out after 0 s \(waiting for /);
    await waitRolledOut(cluster, { name: "qualisys-api-stable", timeoutMs: 60_000 });
    await scaleDeployment(t.kube, NS, "qualisys-api-stable", 3);
  });
});
