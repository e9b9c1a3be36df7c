import { describe, expect, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import { checkLimits, deploymentFailure, matchesSelector, ownedBy, podFailure, rolloutComplete } from "#src/health/pod-health.ts";

const limits = { maxRestarts: 2 };
function pod(cs: Partial<k8s.V1ContainerStatus>, extra: Partial<k8s.V1PodStatus> = {}): k8s.V1Pod {
  return {
    metadata: {
      name: "api-canary-abc-1",
      labels: { "pod-template-hash": "abc" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "api-canary-abc", uid: "1" }],
    },
    status: {
      phase: "Running",
      containerStatuses: [{ name: "app", image: "x", imageID: "", ready: false, restartCount: 0, ...cs }],
      ...extra,
    },
  };
}

describe("podFailure", () => {
  it.each(["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"])(
    "fails on %s and names pod and container",
    (reason) => {
      const f = podFailure(pod({ state: { waiting: { reason, message: "details here" } } }), limits, "production", "api-canary");
      expect(f).toMatchObject({ reason, pod: "api-canary-abc-1", container: "app", deployment: "api-canary" });
      expect(f!.message).toContain("api-canary-abc-1");
      expect(f!.message).toContain(reason);
      expect(f!.message).toContain("details here");
    },
  );

  it("does not fail a container that is merely starting", () => {
    expect(podFailure(pod({ state: { waiting: { reason: "ContainerCreating" } } }), limits, "p", "d")).toBeUndefined();
    expect(podFailure(pod({ state: { running: {} }, restartCount: 2 }), limits, "p", "d")).toBeUndefined();
  });

  it("fails on restarts above the limit, with the last exit", () => {
    const f = podFailure(
      pod({ state: { running: {} }, restartCount: 3, lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } } }),
      limits,
      "p",
      "d",
    );
    expect(f).toMatchObject({ reason: "RestartLimit" });
    expect(f!.message).toContain("OOMKilled");
  });

  it("fails a pod in phase Failed", () => {
    expect(podFailure(pod({}, { phase: "Failed", reason: "Evicted" }), limits, "p", "d")?.reason).toBe("PodFailed");
  });
});

describe("Deployment rules", () => {
  const dep = (status: k8s.V1DeploymentStatus, generation = 2, replicas = 2): k8s.V1Deployment => ({
    metadata: { name: "api-canary", generation },
    spec: { replicas, selector: {}, template: {} },
    status,
  });

  it("follows kubectl's rollout-status rule", () => {
    expect(rolloutComplete(dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), 2)).toBe(true);
    expect(rolloutComplete(dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), 2)).toBe(false); // stale
    expect(rolloutComplete(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }), 2)).toBe(false); // old pod left
    expect(rolloutComplete(dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }), 2)).toBe(false);
    expect(rolloutComplete(dep({ observedGeneration: 2 }, 2, 0), 0)).toBe(true);
  });

  it("reports ProgressDeadlineExceeded and ReplicaFailure, but not from a stale status", () => {
    const pde = {
      type: "Progressing",
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: "ReplicaSet has timed out progressing.",
    };
    expect(deploymentFailure(dep({ observedGeneration: 2, conditions: [pde] }), "p")?.reason).toBe("ProgressDeadlineExceeded");
    expect(deploymentFailure(dep({ observedGeneration: 1, conditions: [pde] }), "p")).toBeUndefined();
    const quota = { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "exceeded quota" };
    expect(deploymentFailure(dep({ observedGeneration: 2, conditions: [quota] }), "p")?.message).toContain("exceeded quota");
  });
});

describe("pod ownership and selectors", () => {
  it("tells the canary's pods from stable's when names share a prefix", () => {
    const canaryPod = pod({});
    expect(ownedBy(canaryPod, "api-canary")).toBe(true);
    expect(ownedBy(canaryPod, "api")).toBe(false);
  });

  it("matches labels against a selector as the API server does (matchLabels and every expression)", () => {
    const sel = {
      matchLabels: { app: "api", track: "canary" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["a", "b"] },
        { key: "x", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist" },
        { key: "zone", operator: "NotIn", values: ["z9"] },
      ],
    };
    expect(matchesSelector(sel, { app: "api", track: "canary", tier: "a", x: "" })).toBe(true);
    expect(matchesSelector(sel, { app: "api", track: "stable", tier: "a", x: "" })).toBe(false);
    expect(matchesSelector(sel, { app: "api", track: "canary", tier: "c", x: "" })).toBe(false);
    expect(matchesSelector(sel, { app: "api", track: "canary", tier: "a" })).toBe(false);
    expect(matchesSelector(sel, { app: "api", track: "canary", tier: "a", x: "", legacy: "1" })).toBe(false);
    expect(matchesSelector(sel, { app: "api", track: "canary", tier: "a", x: "", zone: "z9" })).toBe(false);
    // An empty selector selects nothing here (a Deployment always has one).
    expect(matchesSelector({}, { app: "api" })).toBe(false);
  });

  it("takes its limits from the caller only, and refuses negative ones", () => {
    const limits = { maxRestarts: 0, notReadyGraceMs: 500, unavailableGraceMs: 500, readyDeadlineMs: 40_000 };
    expect(checkLimits(limits)).toBe(limits);
    expect(() => checkLimits({ ...limits, maxRestarts: -1 })).toThrow(RangeError);
  });
});
