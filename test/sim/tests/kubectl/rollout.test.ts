/**
 * The simulated cluster as the REAL kubectl sees it. Expected outputs are kubectl's own messages
 * (pkg/polymorphichelpers/rollout_status.go, history.go, rollback.go) and the documented Deployment behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlFor, type KubectlRunner } from "../../../support/kubectl.ts";
import { REPLICASETS, type ReplicaSet } from "../../controllers/types.ts";
import { startSim, type Sim } from "../../index.ts";

let sim: Sim;
let k: KubectlRunner;

beforeAll(async () => {
  sim = await startSim({
    scenario: {
      timeScale: { msPerSecond: 10 },
      defaults: { pod: { kind: "ready", startSeconds: 1, readyAfterSeconds: 2 } },
      images: [
        { tag: "*-crash", pod: { kind: "crashLoop", crashAfterSeconds: 2 } },
        { tag: "*-nopull", pod: { kind: "imagePullBackOff" } },
      ],
    },
  });
  k = await kubectlFor(sim.kubeconfigPath);
});
afterAll(async () => {
  await k?.dispose();
  await sim?.stop();
});

function manifest(
  name: string,
  image: string,
  opts: { replicas?: number; maxSurge?: number | string; maxUnavailable?: number | string; deadline?: number; cause?: string } = {},
): string {
  const rollingUpdate = `{ maxSurge: ${JSON.stringify(opts.maxSurge ?? "25%")}, maxUnavailable: ${JSON.stringify(opts.maxUnavailable ?? "25%")} }`;
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: { kubernetes.io/change-cause: "${opts.cause ?? `deploy ${image}`}" }
spec:
  replicas: ${opts.replicas ?? 2}
  progressDeadlineSeconds: ${opts.deadline ?? 600}
  strategy: { type: RollingUpdate, rollingUpdate: ${rollingUpdate} }
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: app, image: "${image}" }] }
`;
}

async function kubectl(...args: string[]) {
  return k.run(args);
}

async function apply(yaml: string) {
  const r = await k.run(["apply", "-f", "-"], { input: yaml });
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
}

describe("kubectl against the simulator", () => {
  it("rollout status succeeds for a healthy image", async () => {
    await apply(manifest("healthy", "registry.local/web:1.0.0"));
    const r = await kubectl("rollout", "status", "deployment/healthy", "--timeout=60s");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split("\n").pop()).toBe('deployment "healthy" successfully rolled out');
    const w = await kubectl("wait", "--for=condition=Available", "deployment/healthy", "--timeout=30s");
    expect(w.exitCode).toBe(0);
    expect(w.stdout).toBe("deployment.apps/healthy condition met");
  });

  it("rollout status fails with the progress-deadline message for a crash-looping image", async () => {
    await apply(manifest("crashy", "registry.local/web:2.0.0-crash", { deadline: 60 }));
    const r = await kubectl("rollout", "status", "deployment/crashy", "--timeout=60s");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('error: deployment "crashy" exceeded its progress deadline');
    const reason = await kubectl("get", "deployment/crashy", "-o", 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}');
    expect(reason.stdout).toBe("ProgressDeadlineExceeded");
    const pods = await kubectl(
      "get",
      "pods",
      "-l",
      "app=crashy",
      "-o",
      'jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].ready} {.status.containerStatuses[0].state.waiting.reason}{"\\n"}{end}',
    );
    for (const line of pods.stdout.trim().split("\n")) expect(line.trim()).toMatch(/^Running false( CrashLoopBackOff)?$/);
    const backoff = await kubectl(
      "wait",
      "pods",
      "-l",
      "app=crashy",
      "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=CrashLoopBackOff",
      "--timeout=30s",
    );
    expect(backoff.exitCode).toBe(0);
    const w = await kubectl("wait", "--for=condition=Available", "deployment/crashy", "--timeout=1s");
    expect(w.exitCode).toBe(1);
    expect(w.stderr).toContain("timed out waiting for the condition");
  });

  it("reports ErrImagePull / ImagePullBackOff for an image that cannot be pulled", async () => {
    await apply(manifest("nopull", "registry.local/web:3.0.0-nopull", { replicas: 1 }));
    const w = await kubectl(
      "wait",
      "pods",
      "-l",
      "app=nopull",
      "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff",
      "--timeout=30s",
    );
    expect(w.exitCode).toBe(0);
    const phase = await kubectl("get", "pods", "-l", "app=nopull", "-o", "jsonpath={.items[0].status.phase}");
    expect(phase.stdout).toBe("Pending");
  });

  it("set image rolls out within maxSurge/maxUnavailable, and history lists the revisions", async () => {
    await apply(manifest("rolling", "registry.local/api:1.0.0", { replicas: 4, maxSurge: 1, maxUnavailable: 1, cause: "release 1.0.0" }));
    expect((await kubectl("rollout", "status", "deployment/rolling", "--timeout=60s")).exitCode).toBe(0);

    // Sample every ReplicaSet change while kubectl drives the update.
    const latest = new Map<string, ReplicaSet>(
      (sim.store.list(REPLICASETS, "default").items as ReplicaSet[])
        .filter((rs) => rs.metadata.name.startsWith("rolling-"))
        .map((rs) => [rs.metadata.name, rs]),
    );
    let maxPods = 0;
    let minAvailable = Infinity;
    const stopWatch = sim.store.watch(REPLICASETS, "default", undefined, (e) => {
      if (!e.object.metadata.name.startsWith("rolling-")) return;
      latest.set(e.object.metadata.name, e.object as ReplicaSet);
      const all = [...latest.values()];
      maxPods = Math.max(
        maxPods,
        all.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0),
      );
      minAvailable = Math.min(
        minAvailable,
        all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0),
      );
    });
    expect((await kubectl("set", "image", "deployment/rolling", "app=registry.local/api:1.1.0")).exitCode).toBe(0);
    // After the template change, as on a real cluster: annotating first would rename the current revision's cause.
    expect((await kubectl("annotate", "deployment/rolling", "kubernetes.io/change-cause=release 1.1.0", "--overwrite")).exitCode).toBe(0);
    const status = await kubectl("rollout", "status", "deployment/rolling", "--timeout=60s");
    stopWatch();
    expect(status.exitCode).toBe(0);
    expect(status.stdout.trim().split("\n").pop()).toBe('deployment "rolling" successfully rolled out');
    expect(maxPods).toBe(5); // replicas + maxSurge
    expect(minAvailable).toBe(3); // replicas - maxUnavailable

    const history = await kubectl("rollout", "history", "deployment/rolling");
    expect(history.exitCode).toBe(0);
    const rows = history.stdout
      .trim()
      .split("\n")
      .slice(2)
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toEqual([
      ["1", "release 1.0.0"],
      ["2", "release 1.1.0"],
    ]);
    const rev1 = await kubectl("rollout", "history", "deployment/rolling", "--revision=1");
    expect(rev1.stdout).toContain("deployment.apps/rolling with revision #1");
    expect(rev1.stdout).toMatch(/Image:\s+registry\.local\/api:1\.0\.0/);
  });

  it("rollout undo returns to the previous revision's image, reusing its ReplicaSet", async () => {
    await apply(manifest("undo", "registry.local/web:1.0.0", { cause: "v1" }));
    expect((await kubectl("rollout", "status", "deployment/undo", "--timeout=60s")).exitCode).toBe(0);
    const rsV1 = (await kubectl("get", "rs", "-l", "app=undo", "-o", "jsonpath={.items[0].metadata.name}")).stdout;
    await apply(manifest("undo", "registry.local/web:2.0.0-crash", { cause: "v2", deadline: 60 }));
    expect((await kubectl("rollout", "status", "deployment/undo", "--timeout=60s")).exitCode).toBe(1);

    const undo = await kubectl("rollout", "undo", "deployment/undo");
    expect(undo.exitCode).toBe(0);
    expect(undo.stdout).toBe("deployment.apps/undo rolled back");
    const status = await kubectl("rollout", "status", "deployment/undo", "--timeout=60s");
    expect(status.exitCode).toBe(0);
    expect((await kubectl("get", "deployment/undo", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).stdout).toBe(
      "registry.local/web:1.0.0",
    );
    const rs = await kubectl(
      "get",
      "rs",
      "-l",
      "app=undo",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations.deployment\\.kubernetes\\.io/revision} {.spec.replicas}{"\\n"}{end}',
    );
    expect(rs.stdout).toContain(`${rsV1} 3 2`); // the v1 ReplicaSet, now revision 3, scaled back up
    const history = await kubectl("rollout", "history", "deployment/undo");
    expect(
      history.stdout
        .trim()
        .split("\n")
        .slice(2)
        .map((l) => l.trim().split(/\s{2,}/)),
    ).toEqual([
      ["2", "v2"],
      ["3", "v1"],
    ]);
    const again = await kubectl("rollout", "undo", "deployment/undo", "--to-revision=3");
    expect(again.stdout).toBe("deployment.apps/undo skipped rollback (current template already matches revision 3)");
  });

  it("delete cascades through ReplicaSets to pods", async () => {
    await apply(manifest("doomed", "registry.local/web:1.0.0", { replicas: 1 }));
    expect((await kubectl("rollout", "status", "deployment/doomed", "--timeout=60s")).exitCode).toBe(0);
    expect((await kubectl("delete", "deployment/doomed")).exitCode).toBe(0);
    const w = await kubectl("wait", "--for=delete", "pods", "-l", "app=doomed", "--timeout=30s");
    expect(w.exitCode).toBe(0);
    expect((await kubectl("get", "rs,pods", "-l", "app=doomed", "-o", "name")).stdout).toBe("");
  });
});
