/**
 * watchCanaryHealth and waitAvailable against the simulator's kubelet: scenario images decide how the canary's
 * pods behave (healthy, crash-looping, failing to pull, never Ready, Ready then failing).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanaryUnhealthyError, waitAvailable, watchCanaryHealth, type HealthFailure, type HealthLimits } from "#src/health/index.ts";
import { FailedError } from "#src/errors.ts";
import { NS, startTrafficSim, type TrafficSim } from "../support/traffic-fixture.ts";

const CANARY = "qualisys-api-canary";
/** The test's limits (release.yaml gives the pipeline its own; health/ has none of its own). */
const limits = (l: Partial<HealthLimits> = {}): HealthLimits => ({
  maxRestarts: 3,
  notReadyGraceMs: 15_000,
  unavailableGraceMs: 15_000,
  readyDeadlineMs: 120_000,
  ...l,
});
let t: TrafficSim;

beforeAll(async () => {
  t = await startTrafficSim("ingress-nginx", {
    images: [
      { tag: "*-crash", pod: { kind: "crashLoop", crashAfterSeconds: 2 } },
      { tag: "*-pull", pod: { kind: "imagePullBackOff" } },
      { tag: "*-never", pod: { kind: "neverReady" } },
      { tag: "*-flap", pod: { kind: "readyThenFail", readyAfterSeconds: 1, failAfterSeconds: 20, failMode: "notReady" } },
      { tag: "*-die", pod: { kind: "readyThenFail", readyAfterSeconds: 1, failAfterSeconds: 20, failMode: "crash" } },
    ],
  });
});
afterAll(() => t?.stop());

/** Wait until the canary has `replicas` Available pods (20 s and the test's limits unless told otherwise). */
const available = (replicas: number, o: { timeoutMs?: number; limits?: HealthLimits; signal?: AbortSignal } = {}) =>
  waitAvailable({ kube: t.kube, namespace: NS, deployment: CANARY, replicas, timeoutMs: 20_000, limits: limits(), ...o });

/** Point the canary at an image and scale it (the pipeline's job; here through the API). */
async function rollCanary(tag: string, replicas: number): Promise<void> {
  await t.kube.apps.patchNamespacedDeployment({
    name: CANARY,
    namespace: NS,
    body: [
      { op: "replace", path: "/spec/template/spec/containers/0/image", value: `ghcr.io/qualisys/qualisys-api:${tag}` },
      { op: "replace", path: "/spec/replicas", value: replicas },
    ],
  });
}

async function scaleToZero(): Promise<void> {
  await t.kube.apps.patchNamespacedDeployment({ name: CANARY, namespace: NS, body: [{ op: "replace", path: "/spec/replicas", value: 0 }] });
  await available(0);
}

const failureOf = async (p: Promise<unknown>): Promise<HealthFailure> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CanaryUnhealthyError);
  return (err as CanaryUnhealthyError).failure;
};

describe("waitAvailable", () => {
  it("resolves once a healthy canary has all its replicas updated and available", async () => {
    await rollCanary("2.0.0", 2);
    await available(2);
    const d = await t.kube.apps.readNamespacedDeployment({ name: CANARY, namespace: NS });
    expect(d.status?.availableReplicas).toBe(2);
    expect(d.status?.updatedReplicas).toBe(2);
    await scaleToZero();
  });

  it("fails fast on CrashLoopBackOff, naming the pod and container", async () => {
    await rollCanary("2.0.0-crash", 1);
    const f = await failureOf(available(1, { timeoutMs: 60_000, limits: limits({ maxRestarts: 10 }) }));
    expect(f.reason).toBe("CrashLoopBackOff");
    expect(f.pod).toMatch(/^qualisys-api-canary-/);
    expect(f.container).toBe("app");
    expect(f.message).toContain(f.pod!);
    await scaleToZero();
  });

  it("reports restarts above the limit before the back-off shows", async () => {
    await rollCanary("2.0.0-crash", 1);
    const f = await failureOf(available(1, { timeoutMs: 60_000, limits: limits({ maxRestarts: 0 }) }));
    expect(["RestartLimit", "CrashLoopBackOff"]).toContain(f.reason);
    await scaleToZero();
  });

  it("fails fast on an image that cannot be pulled", async () => {
    await rollCanary("2.0.0-pull", 1);
    const f = await failureOf(available(1, { timeoutMs: 60_000 }));
    expect(["ErrImagePull", "ImagePullBackOff"]).toContain(f.reason);
    expect(f.message).toContain(f.pod!);
    await scaleToZero();
  });

  it("times out on a canary that never becomes Ready, naming each pod and its state", async () => {
    await rollCanary("2.0.0-never", 2);
    const err = await available(2, { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedError);
    expect(err).not.toBeInstanceOf(CanaryUnhealthyError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/not Available after 1500 ms \(\d\/2 updated, 0\/2 available/);
    expect(msg.match(/qualisys-api-canary-[a-z0-9]+-[a-z0-9]+ \(Running, not Ready/g)).toHaveLength(2);
    await scaleToZero();
  });

  it("stops when its signal aborts, with the signal's reason", async () => {
    await rollCanary("2.0.0-never", 1);
    const ac = new AbortController();
    const p = available(1, { timeoutMs: 60_000, signal: ac.signal });
    ac.abort(new Error("release cancelled"));
    await expect(p).rejects.toThrow("release cancelled");
    await scaleToZero();
  });
});

describe("watchCanaryHealth", () => {
  it("detects a pod that never becomes Ready", async () => {
    // Watch first, then start the pod: a pod already running when the watch begins is (rightly) judged as one
    // that lost its readiness, and on a loaded machine the pod may be running before a late watch starts.
    const watching = watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: CANARY,
      signal: new AbortController().signal,
      limits: limits({ readyDeadlineMs: 300 }),
    });
    await rollCanary("2.0.0-never", 1);
    const f = await watching;
    expect(f?.reason).toBe("NeverReady");
    expect(f?.pod).toMatch(/^qualisys-api-canary-/);
    await scaleToZero();
  });

  it("detects a Ready pod that stops being Ready for longer than the grace", async () => {
    await rollCanary("2.0.0-flap", 1);
    await available(1);
    const f = await watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: CANARY,
      signal: new AbortController().signal,
      limits: limits({ notReadyGraceMs: 100, unavailableGraceMs: 60_000 }),
    });
    expect(f?.reason).toBe("NotReady");
    expect(f?.message).toMatch(/was Ready and has not been Ready for over 100 ms/);
    await scaleToZero();
  });

  it("gives a pod that is already not Ready when the watch starts the not-Ready grace, not the ready deadline", async () => {
    await rollCanary("2.0.0-flap", 1);
    await available(1);
    const notReady = async () => {
      const pods = await t.kube.core.listNamespacedPod({ namespace: NS, labelSelector: "app=qualisys-api,track=canary" });
      return pods.items.some(
        (p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "False") && !p.metadata?.deletionTimestamp,
      );
    };
    await expect.poll(notReady, { timeout: 10_000 }).toBe(true);
    const f = await watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: CANARY,
      signal: new AbortController().signal,
      limits: limits({ notReadyGraceMs: 100, readyDeadlineMs: 600_000, unavailableGraceMs: 600_000 }),
    });
    expect(f?.reason).toBe("NotReady");
    await scaleToZero();
  });

  it("detects a Ready pod whose process starts crashing", async () => {
    await rollCanary("2.0.0-die", 1);
    await available(1);
    const f = await watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: CANARY,
      signal: new AbortController().signal,
      limits: limits({ maxRestarts: 0, notReadyGraceMs: 60_000, unavailableGraceMs: 60_000 }),
    });
    expect(["RestartLimit", "CrashLoopBackOff"]).toContain(f?.reason);
    await scaleToZero();
  });

  it("detects CrashLoopBackOff and ImagePullBackOff while watching", async () => {
    await rollCanary("2.0.0-crash", 1);
    const crash = await watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: CANARY,
      signal: new AbortController().signal,
      limits: limits({ maxRestarts: 10 }),
    });
    expect(crash?.reason).toBe("CrashLoopBackOff");
    await scaleToZero();
    await rollCanary("2.0.0-pull", 1);
    const pull = await watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: CANARY,
      signal: new AbortController().signal,
      limits: limits(),
    });
    expect(["ErrImagePull", "ImagePullBackOff"]).toContain(pull?.reason);
    await scaleToZero();
  });

  it("survives dropped watches: resumes and still reports the failure", async () => {
    await rollCanary("2.0.0", 1);
    await available(1);
    // Every pod watch ends after one event, as a proxy or server timeout would end it.
    t.sim.faults.add({ verb: "watch", resource: "pods", fault: { type: "dropWatch", afterEvents: 1 } });
    const rewatches: string[] = [];
    try {
      const health = watchCanaryHealth({
        kube: t.kube,
        namespace: NS,
        deployment: CANARY,
        signal: new AbortController().signal,
        limits: limits({ maxRestarts: 10 }),
        onRewatch: (what, why) => rewatches.push(`${what}: ${why}`),
      });
      await rollCanary("2.0.0-crash", 1);
      const f = await health;
      expect(f?.reason).toBe("CrashLoopBackOff");
      expect(rewatches.filter((r) => r.startsWith("pod")).length).toBeGreaterThan(0);
    } finally {
      t.sim.faults.clear();
    }
    await scaleToZero();
  });

  it("resolves undefined when aborted, and closes its watches", async () => {
    await rollCanary("2.0.0", 1);
    await available(1);
    // Client side: every watch started has its done callback called (the stream is closed) before the promise settles.
    let open = 0;
    let started = 0;
    const watch = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        cb: (type: string, obj: unknown) => void,
        done: (err: unknown) => void,
      ) => {
        open++;
        started++;
        return t.kube.watch.watch(path, query, cb, (err) => {
          open--;
          done(err);
        });
      },
    };
    // The server closes the streams of the waitAvailable above a moment after the client: let the count settle.
    let previous = -1;
    await expect
      .poll(
        () => {
          const now = t.storeListeners();
          const settled = now === previous;
          previous = now;
          return settled;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    const baseline = t.storeListeners();
    const ac = new AbortController();
    const health = watchCanaryHealth({
      kube: { ...t.kube, watch: watch as unknown as typeof t.kube.watch },
      namespace: NS,
      deployment: CANARY,
      signal: ac.signal,
      limits: limits(),
    });
    // One watch each of Deployments, ReplicaSets and Pods (the namespace's, shared by whatever waits on them).
    await expect.poll(() => open, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => t.storeListeners(), { timeout: 10_000 }).toBe(baseline + 3);
    ac.abort();
    expect(await health).toBeUndefined();
    expect(started).toBe(3);
    expect(open).toBe(0);
    // Server side: the API server sees every stream close.
    await expect.poll(() => t.storeListeners(), { timeout: 10_000 }).toBe(baseline);
    await scaleToZero();
  });

  it("reports Progressing=False ProgressDeadlineExceeded", async () => {
    // The web canary, never rolled before: a fresh rollout whose pods never become Ready.
    const web = "qualisys-web-canary";
    await t.kube.apps.patchNamespacedDeployment({
      name: web,
      namespace: NS,
      body: [
        { op: "add", path: "/spec/progressDeadlineSeconds", value: 5 },
        { op: "replace", path: "/spec/template/spec/containers/0/image", value: "ghcr.io/qualisys/qualisys-web:2.0.0-never" },
        { op: "replace", path: "/spec/replicas", value: 1 },
      ],
    });
    const f = await watchCanaryHealth({
      kube: t.kube,
      namespace: NS,
      deployment: web,
      signal: new AbortController().signal,
      limits: limits({ readyDeadlineMs: 60_000, unavailableGraceMs: 60_000 }),
    });
    expect(f?.reason).toBe("ProgressDeadlineExceeded");
    expect(f?.message).toContain("ProgressDeadlineExceeded");
  });
});

describe("a rollout replacing bad canary pods", () => {
  it("judges the new ReplicaSet's pods, not the crash-looping ones being replaced", async () => {
    await rollCanary("2.0.0-crash", 1);
    await failureOf(available(1, { timeoutMs: 60_000, limits: limits({ maxRestarts: 10 }) }));
    // Fix forward without scaling to 0 first: the old pod still crash-loops while the new one starts.
    await rollCanary("2.0.1", 1);
    await available(1, { limits: limits({ maxRestarts: 10 }) });
    await scaleToZero();
  });
});
