/** @kubernetes/client-node's Watch over the simulator's HTTP API, following pods through a rolling update. */
import { AppsV1Api, CoreV1Api, KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kubectlFor, type KubectlRunner } from "../../../support/kubectl.ts";
import { startSim, type Sim } from "../../index.ts";

let sim: Sim;
let k: KubectlRunner;
let kc: KubeConfig;

beforeAll(async () => {
  sim = await startSim({ scenario: { defaults: { pod: { kind: "ready", readyAfterSeconds: 3 } } } });
  k = await kubectlFor(sim.kubeconfigPath);
  kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
});
afterAll(async () => {
  await k?.dispose();
  await sim?.stop();
});

it("streams every pod of a rolling update: old ones deleted, new ones added and turning Ready", async () => {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await apps.createNamespacedDeployment({
    namespace: "default",
    body: {
      metadata: { name: "watched" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "watched" } },
        template: { metadata: { labels: { app: "watched" } }, spec: { containers: [{ name: "app", image: "web:1" }] } },
      },
    },
  });
  expect((await k.run(["rollout", "status", "deployment/watched", "--timeout=60s"])).exitCode).toBe(0);
  const before = await core.listNamespacedPod({ namespace: "default", labelSelector: "app=watched" });
  const oldPods = new Set(before.items.map((p) => p.metadata!.name!));

  const events: Array<{ type: string; pod: V1Pod }> = [];
  const live = new Map<string, V1Pod>();
  let rolledOut!: () => void;
  const done = new Promise<void>((resolve) => (rolledOut = resolve));
  const watch = new Watch(kc);
  const req = await watch.watch(
    "/api/v1/namespaces/default/pods",
    { labelSelector: "app=watched", resourceVersion: before.metadata!.resourceVersion },
    (type, pod: V1Pod) => {
      events.push({ type, pod });
      if (type === "DELETED") live.delete(pod.metadata!.name!);
      else live.set(pod.metadata!.name!, pod);
      const pods = [...live.values()];
      const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (pods.length === 3 && pods.every((p) => p.spec!.containers[0]!.image === "web:2" && ready(p))) rolledOut();
    },
    () => {},
  );
  for (const p of before.items) live.set(p.metadata!.name!, p);
  expect((await k.run(["set", "image", "deployment/watched", "app=web:2"])).exitCode).toBe(0);
  await done;
  req.abort();

  const deleted = new Set(events.filter((e) => e.type === "DELETED").map((e) => e.pod.metadata!.name!));
  expect(deleted).toEqual(oldPods);
  const added = events.filter((e) => e.type === "ADDED").map((e) => e.pod);
  expect(added).toHaveLength(3);
  for (const p of added) {
    expect(p.spec!.containers[0]!.image).toBe("web:2");
    expect(p.metadata!.ownerReferences![0]!.kind).toBe("ReplicaSet");
  }
  const rvs = events.map((e) => Number(e.pod.metadata!.resourceVersion));
  expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
  const after = await core.listNamespacedPod({ namespace: "default", labelSelector: "app=watched" });
  expect(new Set(after.items.map((p) => p.metadata!.name!))).toEqual(new Set(live.keys()));
});
