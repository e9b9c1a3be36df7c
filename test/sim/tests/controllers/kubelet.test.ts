import { afterEach, describe, expect, it } from "vitest";
import { imageIdOf, imageTag } from "../../controllers/pod-status.ts";
import { PODS, REPLICASETS, type Pod, type ReplicaSet } from "../../controllers/types.ts";
import type { ScenarioInput } from "../../scenario.ts";
import { startHarness, type Harness } from "./harness.ts";

let h: Harness;
afterEach(() => h?.stop());

function rs(name: string, image: string, replicas = 1): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
    },
  };
}

const pods = (prefix: string) => (h.store.list(PODS, "default").items as Pod[]).filter((p) => p.metadata.name.startsWith(prefix + "-"));
const onePod = (prefix: string, pred: (p: Pod) => boolean) => () => pods(prefix).find(pred);
const cs = (p: Pod) => p.status?.containerStatuses?.[0];
const cond = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;

async function start(scenario: ScenarioInput, image: string, replicas = 1): Promise<void> {
  h = startHarness(scenario);
  h.store.create(REPLICASETS, rs("app", image, replicas));
  await h.until(() => pods("app").length === replicas, "pods created");
}

describe("kubelet", () => {
  it("runs a healthy pod to Ready with the status a real kubelet reports", async () => {
    await start({}, "ghcr.io/acme/app:1.2.3");
    const p = await h.until(
      onePod("app", (p) => cond(p, "Ready") === "True"),
      "Ready",
    );
    expect(p.spec.nodeName).toBe("sim-node-1");
    expect(p.status).toMatchObject({
      phase: "Running",
      podIP: expect.stringMatching(/^10\.244\.\d+\.\d+$/),
      hostIP: expect.any(String),
      startTime: expect.any(String),
    });
    expect(p.status!.conditions!.map((c) => [c.type, c.status])).toEqual([
      ["PodReadyToStartContainers", "True"],
      ["Initialized", "True"],
      ["Ready", "True"],
      ["ContainersReady", "True"],
      ["PodScheduled", "True"],
    ]);
    expect(cs(p)).toMatchObject({
      name: "app",
      image: "ghcr.io/acme/app:1.2.3",
      imageID: expect.stringMatching(/^ghcr\.io\/acme\/app@sha256:[0-9a-f]{64}$/),
      containerID: expect.stringMatching(/^containerd:\/\/[0-9a-f]{64}$/),
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: expect.any(String) } },
    });
    expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "ReplicaSet", name: "app", controller: true })]);
  });

  it("reports the digest it pulled: a digest reference as itself, a tag pushed again as another digest for new pulls only", async () => {
    await start({}, "ghcr.io/acme/app:1.2.3", 1);
    const first = await h.until(
      onePod("app", (p) => cond(p, "Ready") === "True"),
      "Ready",
    );
    const digest = cs(first)!.imageID.split("@")[1]!;
    // A pod pinned to that digest reports it, and behaves as the tag it was pushed as (scenario rules by tag apply).
    expect(imageIdOf(`ghcr.io/acme/app@${digest}`)).toBe(`ghcr.io/acme/app@${digest}`);
    expect(imageTag(`ghcr.io/acme/app@${digest}`)).toBe("1.2.3");
    // The tag is pushed again: the running pod keeps its digest; a new pod pulls the new one.
    h.controllers.kubelet.repush("ghcr.io/acme/app:1.2.3");
    h.store.mutate(REPLICASETS, "default", "app", (o) => {
      (o as ReplicaSet).spec.replicas = 2;
    });
    await h.until(() => pods("app").filter((p) => cond(p, "Ready") === "True").length === 2, "two Ready pods");
    const ids = new Map(pods("app").map((p) => [p.metadata.name, cs(p)!.imageID]));
    expect(ids.get(first.metadata.name)).toBe(`ghcr.io/acme/app@${digest}`);
    const other = [...ids.values()].find((id) => id !== `ghcr.io/acme/app@${digest}`);
    expect(other).toMatch(/^ghcr\.io\/acme\/app@sha256:[0-9a-f]{64}$/);
    expect(imageTag(`ghcr.io/acme/app@${other!.split("@")[1]}`)).toBe("1.2.3");
  });

  it("crash-loops with a doubling back-off and a growing restartCount, never Ready", async () => {
    await start({ defaults: { pod: { kind: "crashLoop", crashAfterSeconds: 1 } } }, "app:bad");
    const seen: string[] = [];
    let everReady = false;
    const stop = h.store.watch(PODS, "default", undefined, (e) => {
      const w = cs(e.object as Pod)?.state.waiting;
      if (w?.reason === "CrashLoopBackOff") seen.push(`${cs(e.object as Pod)!.restartCount} ${w.message!.split(" ")[1]}`);
      if (cond(e.object as Pod, "Ready") === "True") everReady = true;
    });
    const p = await h.until(
      onePod("app", (p) => (cs(p)?.restartCount ?? 0) >= 3 && !!cs(p)?.state.waiting),
      "three restarts",
    );
    stop();
    expect(seen.slice(0, 4)).toEqual(["0 10s", "1 20s", "2 40s", "3 1m20s"]);
    expect(everReady).toBe(false);
    expect(p.status!.phase).toBe("Running");
    expect(cs(p)!.lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    expect(p.status!.conditions!.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [app]",
    });
  });

  it("reports ErrImagePull then ImagePullBackOff and stays Pending", async () => {
    await start({ defaults: { pod: { kind: "imagePullBackOff" } } }, "app:missing");
    const reasons: string[] = [];
    const stop = h.store.watch(PODS, "default", undefined, (e) => {
      const r = cs(e.object as Pod)?.state.waiting?.reason;
      if (r && r !== reasons[reasons.length - 1]) reasons.push(r);
    });
    const p = await h.until(
      onePod("app", (p) => cs(p)?.state.waiting?.reason === "ImagePullBackOff"),
      "ImagePullBackOff",
    );
    await h.until(() => reasons.length >= 4, "a second pull attempt");
    stop();
    expect(reasons.slice(0, 4)).toEqual(["ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff"]);
    expect(p.status!.phase).toBe("Pending");
    expect(cs(p)!.state.waiting!.message).toBe('Back-off pulling image "app:missing"');
  });

  it("keeps a neverReady pod running but not Ready", async () => {
    await start({ defaults: { pod: { kind: "neverReady" } } }, "app:1");
    const p = await h.until(
      onePod("app", (p) => !!cs(p)?.state.running),
      "running",
    );
    expect(cs(p)!.ready).toBe(false);
    expect(cond(p, "Ready")).toBe("False");
  });

  it.each(["notReady", "crash"] as const)("readyThenFail (%s): Ready, then not", async (failMode) => {
    await start({ defaults: { pod: { kind: "readyThenFail", failAfterSeconds: 5, failMode } } }, "app:1");
    await h.until(
      onePod("app", (p) => cond(p, "Ready") === "True"),
      "Ready",
    );
    const p = await h.until(
      onePod("app", (p) => cond(p, "Ready") === "False" && !!p.status?.conditions?.some((c) => c.type === "Ready")),
      "not Ready again",
    );
    if (failMode === "crash")
      await h.until(
        onePod("app", (p) => cs(p)?.state.waiting?.reason === "CrashLoopBackOff"),
        "crash",
      );
    else expect(cs(p)!.state.running).toBeDefined();
  });

  it("takes a new behaviour mid-run when the scenario changes", async () => {
    await start({}, "app:2.0.0", 2);
    await h.until(() => pods("app").every((p) => cond(p, "Ready") === "True"), "Ready");
    h.setScenario({ images: [{ tag: "2.*", pod: { kind: "crashLoop", crashAfterSeconds: 1 } }] });
    await h.until(() => pods("app").every((p) => cs(p)?.state.waiting?.reason === "CrashLoopBackOff"), "crashing");
  });

  it("scales down not-ready pods before Ready ones", async () => {
    h = startHarness({ images: [{ tag: "slow", pod: { kind: "neverReady" } }] });
    h.store.create(REPLICASETS, rs("app", "app:fast", 2));
    await h.until(() => pods("app").filter((p) => cond(p, "Ready") === "True").length === 2, "two Ready");
    const ready = new Set(pods("app").map((p) => p.metadata.name));
    // Two more pods that never become Ready (same ReplicaSet, as after an image change in place).
    h.store.mutate(REPLICASETS, "default", "app", (o) => {
      const r = o as ReplicaSet;
      r.spec.replicas = 4;
      r.spec.template!.spec!.containers![0]!.image = "app:slow";
    });
    await h.until(() => pods("app").filter((p) => cs(p)?.state.running).length === 4, "four running");
    h.store.mutate(REPLICASETS, "default", "app", (o) => void ((o as ReplicaSet).spec.replicas = 2));
    await h.until(() => pods("app").length === 2, "scaled down");
    expect(new Set(pods("app").map((p) => p.metadata.name))).toEqual(ready);
  });
});
