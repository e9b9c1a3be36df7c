/**
 * Stable runs exactly what the canary ran (defect 7 of issue 9): releases go out by a mutable tag, so the digest
 * is read from the canary's running pods (their imageID) once it is Available, every later canary pod must run
 * the same one, and stable is promoted as `repository@sha256:…`. The record shows the tag and the digest.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { FailedError } from "#src/errors.ts";
import { bin } from "../support/bin.ts";
import { deployment, imageOf, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { maxWeight, stableTemplateImages } from "../support/invariants.ts";
import { digestOf, expectInvariants, expectResting, image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("the digest the canary ran", () => {
  it("is what stable is promoted to, and the record names the tag and the digest", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const r = await bin(h, ["deploy", "--tag", "1.1.0", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as ReleaseRecord;
    // Stable's new pods report the very digest the canary's pods reported for the tag.
    const pods = h.sim.store.list("/v1/pods", "production").items as unknown as Array<{
      metadata: { labels: Record<string, string>; deletionTimestamp?: string };
      status: { containerStatuses: Array<{ imageID: string }> };
    }>;
    const stableRuns = pods
      .filter((p) => p.metadata.labels.app === "qualisys-api" && p.metadata.labels.track === "stable" && !p.metadata.deletionTimestamp)
      .map((p) => p.status.containerStatuses[0]!.imageID);
    expect(new Set(stableRuns)).toEqual(new Set([pinned("qualisys-api", "1.1.0")]));
    expect(record.services[0]).toMatchObject({
      newImage: image("qualisys-api", "1.1.0"),
      digest: digestOf("qualisys-api", "1.1.0"),
      finalImage: pinned("qualisys-api", "1.1.0"),
    });
    expect(imageOf(deployment(h.sim, "qualisys-api-stable"), "qualisys-api")).toBe(pinned("qualisys-api", "1.1.0"));
    // The tag it was released as stays on the template: the next release knows the version stable reports.
    expect(deployment(h.sim, "qualisys-api-stable").spec.template.metadata.annotations).toMatchObject({
      "release-gate.qualisys.io/tag": `1.1.0@${digestOf("qualisys-api", "1.1.0")}`,
    });
    const markdown = await bin(h, ["history"]);
    expect(markdown.stdout).toMatch(/1\.1\.0/);
    // status shows what runs (the digest) with the tag it was released as.
    const status = await bin(h, ["status"]);
    expect(status.stdout).toContain(`stable  ${image("qualisys-api", "1.1.0")}@${digestOf("qualisys-api", "1.1.0")}  `);
    // A second release from a digest-pinned stable: its observed split tells 1.1.0 (stable) from 1.2.0 (canary).
    const next = await deploy(h.env, { tag: "1.2.0" });
    expect(next.steps[0]!.observedSplit?.[0]?.samples).toBeGreaterThan(0);
    expect(h.log).not.toContainEqual(expect.stringMatching(/observed split inconclusive/));
    expect(next.services[0]).toMatchObject({ previousImage: pinned("qualisys-api", "1.1.0"), finalImage: pinned("qualisys-api", "1.2.0") });
  });

  it("a tag pushed again during the release: the next canary pod runs another digest, the release stops and rolls back", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    const harness = h;
    // Between 10 % and 50 %, 1.1.0 is pushed again: the pod the canary gets at 50 % pulls the new content.
    harness.onStep("canary 50%", () => harness.sim.kubelet.repush(image("qualisys-api", "1.1.0")));
    const err = await deploy(harness.env, { tag: "1.1.0" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedError);
    const pods = String.raw`sha256:[a-f0-9]{64} \(1 pod\(s\): [^)]*\)`;
    expect((err as Error).message).toMatch(
      new RegExp(
        String.raw`failed at canary 50%: the canary of qualisys-api runs different images under .*qualisys-api:1\.1\.0: ` +
          `${pods}, ${pods}; the tag was pushed again while the release ran`,
      ),
    );
    // The 50 % weight was never given, and stable never changed.
    expect(maxWeight(harness.events, "ingress-nginx")).toBe(10);
    expect(stableTemplateImages(harness.events, "qualisys-api")).toEqual([image("qualisys-api", OLD)]);
    await expectResting(harness, OLD, "rolled-back", ["qualisys-api"]);
    expectInvariants(harness);
  });
});

describe("the released-tag annotation after the manifests were applied again", () => {
  /** Stable rolled out what the test just put on it. */
  async function rolledOut(h: Harness): Promise<void> {
    const r = await h.kubectl.run(["rollout", "status", "deployment/qualisys-api-stable", "-n", NS, "--timeout=60s"]);
    expect(r.exitCode, r.stderr).toBe(0);
  }

  it("is believed only for its own digest: the next releases know what stable really runs", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    await deploy(h.env, { tag: "1.1.0" });
    // A GitOps-style re-apply puts the manifests' 1.0.0 back and keeps the annotation it never set.
    const applied = await h.kubectl.run(["apply", "-k", "kubernetes/production"]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    await rolledOut(h);
    const stable = deployment(h.sim, "qualisys-api-stable");
    expect(imageOf(stable, "qualisys-api")).toBe(image("qualisys-api", OLD));
    expect(stable.spec.template.metadata.annotations["release-gate.qualisys.io/tag"]).toBe(`1.1.0@${digestOf("qualisys-api", "1.1.0")}`);
    // Releasing 1.1.0 again is a release (stable runs 1.0.0), not "nothing to release", and its observed split tells
    // stable's 1.0.0 from the canary's 1.1.0.
    const again = await deploy(h.env, { tag: "1.1.0" });
    expect(again.outcome).toBe("succeeded");
    expect(again.services[0]).toMatchObject({ previousImage: image("qualisys-api", OLD), finalImage: pinned("qualisys-api", "1.1.0") });
    expect(again.steps[0]!.observedSplit?.[0]?.samples).toBeGreaterThan(0);
    // Stable's answers (1.0.0) were counted as stable's, never as neither version.
    expect(h.log).not.toContainEqual(expect.stringMatching(/observed split inconclusive/));
    // Re-applied pinned to 1.0.0's digest (kustomize `images: digest:`): still not the digest the annotation names, so
    // stable is not taken for 1.1.0 (its version is then only its digest: what its app reports cannot be known).
    const set = await h.kubectl.run([
      "set",
      "image",
      "deployment/qualisys-api-stable",
      `qualisys-api=${pinned("qualisys-api", OLD)}`,
      "-n",
      NS,
    ]);
    expect(set.exitCode, set.stderr).toBe(0);
    await rolledOut(h);
    const third = await deploy(h.env, { tag: "1.1.0" });
    expect(third.outcome).toBe("succeeded");
    expect(third.services[0]).toMatchObject({ previousImage: pinned("qualisys-api", OLD), finalImage: pinned("qualisys-api", "1.1.0") });
    const status = await bin(h, ["status"]);
    expect(status.stdout).toContain(`stable  ${image("qualisys-api", "1.1.0")}@${digestOf("qualisys-api", "1.1.0")}  `);
  });
});
