import { afterEach, describe, expect, it } from "vitest";
import { DEPLOYMENTS, PODS, REPLICASETS, type Deployment, type Pod, type ReplicaSet } from "../../controllers/types.ts";
import { deployment, record, setImage, startHarness, type Harness } from "./harness.ts";

let h: Harness;
afterEach(() => h?.stop());

const getD = (name: string) => h.store.get(DEPLOYMENTS, "default", name) as Deployment | undefined;
const rsOf = (name: string) =>
  (h.store.list(REPLICASETS, "default").items as ReplicaSet[]).filter((rs) => rs.metadata.ownerReferences?.[0]?.name === name);
const cond = (d: Deployment | undefined, type: string) => d?.status?.conditions?.find((c) => c.type === type);
const complete = (name: string, replicas: number) => () => {
  const d = getD(name);
  const s = d?.status;
  return s &&
    s.observedGeneration === d.metadata.generation &&
    s.updatedReplicas === replicas &&
    s.replicas === replicas &&
    s.availableReplicas === replicas &&
    cond(d, "Progressing")?.reason === "NewReplicaSetAvailable"
    ? d
    : undefined;
};

describe("deployment controller", () => {
  it("creates a ReplicaSet named after the pod-template-hash and reports a complete rollout", async () => {
    h = startHarness();
    h.store.create(DEPLOYMENTS, deployment("web", "registry.local/web:1.0", {}, { "kubernetes.io/change-cause": "first" }));
    const d = await h.until(complete("web", 3), "web to be rolled out");
    const [rs] = rsOf("web");
    const hash = rs!.metadata.labels!["pod-template-hash"]!;
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(rs!.spec.selector!.matchLabels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs!.spec.template!.metadata!.labels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs!.metadata.annotations).toMatchObject({
      "deployment.kubernetes.io/revision": "1",
      "deployment.kubernetes.io/desired-replicas": "3",
      "deployment.kubernetes.io/max-replicas": "4", // 3 + ceil(25% of 3)
      "kubernetes.io/change-cause": "first",
    });
    expect(rs!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Deployment", name: "web", uid: d.metadata.uid, controller: true }),
    ]);
    expect(d.metadata.annotations!["deployment.kubernetes.io/revision"]).toBe("1");
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.status!.unavailableReplicas).toBeUndefined();
    expect(cond(d, "Available")).toMatchObject({
      status: "True",
      reason: "MinimumReplicasAvailable",
      message: "Deployment has minimum availability.",
    });
    expect(cond(d, "Progressing")).toMatchObject({
      status: "True",
      reason: "NewReplicaSetAvailable",
      message: `ReplicaSet "${rs!.metadata.name}" has successfully progressed.`,
    });
    const pods = h.store.list(PODS, "default").items as Pod[];
    expect(pods).toHaveLength(3);
    for (const p of pods) expect(p.metadata.name).toMatch(new RegExp(`^${rs!.metadata.name}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
  });

  it.each([
    { replicas: 4, maxSurge: 1, maxUnavailable: 0, surge: 1, unavailable: 0 },
    { replicas: 10, maxSurge: "25%", maxUnavailable: "25%", surge: 3, unavailable: 2 }, // surge rounds up, unavailable down
    { replicas: 5, maxSurge: 0, maxUnavailable: "30%", surge: 0, unavailable: 1 },
  ])(
    "rolls out within maxSurge=$maxSurge maxUnavailable=$maxUnavailable of $replicas",
    async ({ replicas, maxSurge, maxUnavailable, surge, unavailable }) => {
      h = startHarness({ images: [{ tag: "2.*", pod: { kind: "ready", readyAfterSeconds: 3 } }] });
      const spec = { replicas, strategy: { type: "RollingUpdate" as const, rollingUpdate: { maxSurge, maxUnavailable } } };
      h.store.create(DEPLOYMENTS, deployment("api", "api:1.0", spec));
      await h.until(complete("api", replicas), "first rollout");
      const before = rsOf("api");
      const rsEvents = record(h.store, REPLICASETS);
      setImage(h.store, "api", "api:2.0");
      await h.until(
        () =>
          complete("api", replicas)() &&
          getD("api")!.spec.template.spec!.containers![0]!.image === "api:2.0" &&
          rsOf("api").every((rs) => rs.spec.template!.spec!.containers![0]!.image === "api:2.0" || rs.spec.replicas === 0),
        "second rollout",
      );
      rsEvents.stop();
      // Replay the ReplicaSet history: at every instant the sum of desired pods stays within replicas + maxSurge,
      // and the pods available across ReplicaSets never drop below replicas - maxUnavailable.
      const latest = new Map<string, ReplicaSet>(before.map((rs) => [rs.metadata.name, rs]));
      let maxTotal = 0;
      let minAvailable = Infinity;
      for (const e of rsEvents.events) {
        latest.set(e.object.metadata.name, e.object as ReplicaSet);
        const all = [...latest.values()];
        maxTotal = Math.max(
          maxTotal,
          all.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0),
        );
        minAvailable = Math.min(
          minAvailable,
          all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0),
        );
      }
      expect(maxTotal).toBe(replicas + surge);
      expect(minAvailable).toBe(replicas - unavailable);
      const [old, cur] = rsOf("api").sort((a, b) =>
        a.metadata.annotations!["deployment.kubernetes.io/revision"]!.localeCompare(
          b.metadata.annotations!["deployment.kubernetes.io/revision"]!,
        ),
      );
      expect(old!.spec.replicas).toBe(0);
      expect(cur!.metadata.annotations!["deployment.kubernetes.io/revision"]).toBe("2");
      expect(getD("api")!.metadata.annotations!["deployment.kubernetes.io/revision"]).toBe("2");
    },
  );

  it("counts a Ready pod as available only after minReadySeconds", async () => {
    h = startHarness();
    const rsEvents = record(h.store, REPLICASETS);
    h.store.create(DEPLOYMENTS, deployment("slow", "slow:1", { replicas: 2, minReadySeconds: 20 }));
    await h.until(complete("slow", 2), "rollout");
    rsEvents.stop();
    const statuses = rsEvents.events.map((e) => (e.object as ReplicaSet).status ?? {});
    expect(statuses.some((st) => st.readyReplicas === 2 && !st.availableReplicas)).toBe(true); // zero counts are omitted
    expect(statuses.at(-1)).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
  });

  it("reuses the old ReplicaSet on rollback and gives it the next revision", async () => {
    h = startHarness();
    h.store.create(DEPLOYMENTS, deployment("web", "web:1", { replicas: 2 }));
    await h.until(complete("web", 2), "v1");
    const v1 = rsOf("web")[0]!;
    setImage(h.store, "web", "web:2");
    await h.until(() => rsOf("web").length === 2 && complete("web", 2)(), "v2");
    setImage(h.store, "web", "web:1");
    await h.until(
      () => complete("web", 2)() && getD("web")!.metadata.annotations!["deployment.kubernetes.io/revision"] === "3",
      "rollback",
    );
    const all = rsOf("web");
    expect(all).toHaveLength(2);
    const reused = all.find((rs) => rs.metadata.uid === v1.metadata.uid)!;
    expect(reused.metadata.annotations).toMatchObject({
      "deployment.kubernetes.io/revision": "3",
      "deployment.kubernetes.io/revision-history": "1",
    });
    expect(reused.spec.replicas).toBe(2);
  });

  it("reports ProgressDeadlineExceeded when the new pods never become available", async () => {
    h = startHarness({ images: [{ tag: "bad", pod: { kind: "crashLoop" } }] });
    h.store.create(DEPLOYMENTS, deployment("web", "web:bad", { replicas: 2, progressDeadlineSeconds: 30 }));
    const d = await h.until(() => {
      const d = getD("web");
      return cond(d, "Progressing")?.reason === "ProgressDeadlineExceeded" ? d : undefined;
    }, "the progress deadline");
    const rs = rsOf("web")[0]!;
    expect(cond(d, "Progressing")).toMatchObject({
      status: "False",
      message: `ReplicaSet "${rs.metadata.name}" has timed out progressing.`,
    });
    expect(cond(d, "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
    expect(d.status!.unavailableReplicas).toBe(2);
    expect(d.status!.availableReplicas).toBeUndefined();
  });

  it("prunes ReplicaSets beyond revisionHistoryLimit, oldest revisions first", async () => {
    h = startHarness();
    h.store.create(DEPLOYMENTS, deployment("web", "web:1", { replicas: 1, revisionHistoryLimit: 2 }));
    for (const v of [2, 3, 4, 5]) {
      await h.until(complete("web", 1), `v${v - 1}`);
      setImage(h.store, "web", `web:${v}`);
      await h.until(() => getD("web")!.metadata.annotations!["deployment.kubernetes.io/revision"] === String(v), `revision ${v}`);
    }
    await h.until(() => complete("web", 1)() && rsOf("web").length === 3, "pruning");
    expect(
      rsOf("web")
        .map((rs) => rs.metadata.annotations!["deployment.kubernetes.io/revision"])
        .sort(),
    ).toEqual(["3", "4", "5"]);
  });

  it("creates no new ReplicaSet while paused, and rolls out on resume", async () => {
    h = startHarness();
    h.store.create(DEPLOYMENTS, deployment("web", "web:1", { replicas: 2 }));
    await h.until(complete("web", 2), "v1");
    h.store.mutate(DEPLOYMENTS, "default", "web", (o) => void ((o as Deployment).spec.paused = true));
    await h.until(() => cond(getD("web"), "Progressing")?.reason === "DeploymentPaused", "paused condition");
    setImage(h.store, "web", "web:2");
    await h.until(() => getD("web")!.status!.observedGeneration === getD("web")!.metadata.generation, "observed");
    expect(rsOf("web")).toHaveLength(1);
    expect(cond(getD("web"), "Progressing")).toMatchObject({ status: "Unknown", message: "Deployment is paused" });
    h.store.mutate(DEPLOYMENTS, "default", "web", (o) => void ((o as Deployment).spec.paused = false));
    await h.until(() => rsOf("web").length === 2 && complete("web", 2)(), "rollout after resume");
  });

  it("Recreate removes every old pod before creating new ones", async () => {
    h = startHarness();
    h.store.create(DEPLOYMENTS, deployment("web", "web:1", { replicas: 3, strategy: { type: "Recreate" } }));
    await h.until(complete("web", 3), "v1");
    const pods = record(h.store, PODS);
    setImage(h.store, "web", "web:2");
    await h.until(() => rsOf("web").length === 2 && complete("web", 3)(), "v2");
    pods.stop();
    const live = new Map<string, Pod>();
    for (const e of pods.events) {
      if (e.type === "DELETED") live.delete(e.object.metadata.name);
      else live.set(e.object.metadata.name, e.object as Pod);
      const images = new Set([...live.values()].map((p) => p.spec.containers[0]!.image));
      expect(images.size).toBeLessThanOrEqual(1);
    }
  });

  it("spreads a scale-up across ReplicaSets of a stuck rollout as the documentation's example does", async () => {
    // kubernetes.io/docs/concepts/workloads/controllers/deployment/#proportional-scaling: 10 replicas,
    // maxSurge 3, maxUnavailable 2, an unpullable image: old 8 + new 5; scaled to 15: old 11 + new 7.
    h = startHarness({ images: [{ tag: "bad", pod: { kind: "imagePullBackOff" } }] });
    h.store.create(
      DEPLOYMENTS,
      deployment("nginx", "nginx:1.14.2", {
        replicas: 10,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } },
      }),
    );
    await h.until(complete("nginx", 10), "v1");
    setImage(h.store, "nginx", "nginx:bad");
    const sizes = () => {
      const all = rsOf("nginx");
      const img = (rs: ReplicaSet) => rs.spec.template!.spec!.containers![0]!.image;
      return {
        old: all.find((rs) => img(rs) === "nginx:1.14.2")?.spec.replicas,
        new: all.find((rs) => img(rs) === "nginx:bad")?.spec.replicas,
      };
    };
    await h.until(() => sizes().old === 8 && sizes().new === 5 && getD("nginx")!.status!.updatedReplicas === 5, "stuck at 8 + 5");
    h.store.mutate(DEPLOYMENTS, "default", "nginx", (o) => void ((o as Deployment).spec.replicas = 15));
    await h.until(() => sizes().old !== 8, "scaled");
    expect(sizes()).toEqual({ old: 11, new: 7 });
  });

  it("scales a settled Deployment's ReplicaSet, and deletes everything it owns when the Deployment goes", async () => {
    h = startHarness();
    h.store.create(DEPLOYMENTS, deployment("web", "web:1", { replicas: 2 }));
    await h.until(complete("web", 2), "v1");
    h.store.mutate(DEPLOYMENTS, "default", "web", (o) => void ((o as Deployment).spec.replicas = 5));
    await h.until(complete("web", 5), "scaled to 5");
    expect(rsOf("web")[0]!.metadata.annotations!["deployment.kubernetes.io/desired-replicas"]).toBe("5");
    h.store.delete(DEPLOYMENTS, "default", "web");
    await h.until(() => h.store.list(REPLICASETS).items.length === 0 && h.store.list(PODS).items.length === 0, "garbage collection");
  });
});
