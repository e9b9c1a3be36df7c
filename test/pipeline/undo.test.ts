/**
 * `undo` (issue 10): "take back the release that finished an hour ago" in one command. It releases what stable ran
 * before the last release, through the same phases, and puts stable back on exactly that digest; it refuses
 * (exit 2, nothing changed) whenever what to take back is not sure.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { parseReleaseConfig } from "#src/config/load.ts";
import { FailedError, UsageError } from "#src/errors.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { planUndo, undo, type UndoRecord } from "#src/pipeline/undo.ts";
import { bin } from "../support/bin.ts";
import { deployment, imageOf, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { maxWeight, stableTemplateImages } from "../support/invariants.ts";
import { expectInvariants, expectResting, image, pinned } from "../support/scenario.ts";
import { readFileSync } from "node:fs";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const config = parseReleaseConfig(readFileSync("kubernetes/production/release.yaml", "utf8"));
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const D = (n: string) => `sha256:${n.repeat(64).slice(0, 64)}`;

function rec(
  tag: string,
  outcome: ReleaseRecord["outcome"],
  previous: (s: string) => string,
  final: (s: string) => string,
  command: ReleaseRecord["command"] = "deploy",
): ReleaseRecord {
  return {
    id: `r-${tag}-${outcome}`,
    command,
    namespace: "production",
    tag,
    triggeredBy: "dana",
    startedAt: "2026-01-01T10:00:00Z",
    finishedAt: "2026-01-01T10:05:00Z",
    outcome,
    services: ["qualisys-api", "qualisys-web"].map((name) => ({
      name,
      previousImage: previous(name),
      newImage: `${REPO}/${name}:${tag}`,
      finalImage: final(name),
    })),
    steps: [],
  };
}

describe("what undo takes back (planUndo)", () => {
  const pin = (d: string) => (s: string) => `${REPO}/${s}@${D(d)}`;
  const tagged = (t: string) => (s: string) => `${REPO}/${s}:${t}`;

  it("the last finished release: what stable ran before it, by the tag the record that left it there released", () => {
    const history = [rec("1.2.0", "succeeded", pin("b"), pin("c")), rec("1.1.0", "succeeded", tagged("1.0.0"), pin("b"))];
    expect(planUndo(history, config)).toMatchObject({
      undone: { id: "r-1.2.0-succeeded", tag: "1.2.0" },
      tag: "1.1.0",
      services: [
        { name: "qualisys-api", left: pin("c")("qualisys-api"), previous: pin("b")("qualisys-api"), digest: D("b") },
        { name: "qualisys-web", left: pin("c")("qualisys-web"), previous: pin("b")("qualisys-web"), digest: D("b") },
      ],
    });
    // Held canaries are no release of their own; a release of the manifests' own tag has no digest to hold it to.
    const fromManifests = planUndo([rec("2.0.0", "succeeded", tagged("2.0.0"), tagged("2.0.0"), "canary"), history[1]!], config);
    expect(fromManifests).toMatchObject({ tag: "1.0.0", services: [{ previous: tagged("1.0.0")("qualisys-api") }, {}] });
    expect(fromManifests.services[0]!.digest).toBeUndefined();
  });

  it("refuses when there is nothing sure to take back, and says what to run instead", () => {
    const refusal = (history: ReleaseRecord[]) => {
      try {
        planUndo(history, config);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refusal([])).toMatch(
      /^refused: no finished release is recorded .* nothing to undo; release the version you want with `release-gate deploy --tag <tag>`; nothing was changed$/,
    );
    expect(refusal([rec("1.3.0", "rolled-back", pin("c"), pin("c")), rec("1.2.0", "succeeded", tagged("1.1.0"), pin("c"))])).toMatch(
      new RegExp(
        /^refused: the last release, 1\.3\.0 \(deploy, rolled-back, .*\), was itself a failure: /.source +
          /production was already put back on what ran before it.* To take back the release before it as well, 1\.2\.0, /.source +
          /release what ran before that one with `release-gate deploy --tag 1\.1\.0`/.source,
      ),
    );
    expect(refusal([rec("1.2.0", "succeeded", pin("b"), pin("c"))])).toMatch(
      /ran .*@sha256:b+, pinned by digest, and no record says which tag that was/,
    );
    const mixed = rec("1.2.0", "succeeded", (s) => `${REPO}/${s}:${s === "qualisys-api" ? "1.1.0" : "1.1.1"}`, pin("c"));
    expect(refusal([mixed])).toMatch(/the services ran different versions \(qualisys-api 1\.1\.0, qualisys-web 1\.1\.1\)/);
  });
});

describe("undo on the simulator", () => {
  it("takes back the last release through every phase, stable back on exactly the digest it ran before", async () => {
    h = await startHarness({});
    await deploy(h.env, { tag: "1.1.0" });
    const second = await deploy(h.env, { tag: "1.2.0" });
    const eventsBefore = h.events.length;
    const dry = await bin(h, ["undo", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /^undo takes back 1\.2\.0 \(record .*\): releases 1\.1\.0, what stable ran before it .*; nothing was changed \(--dry-run\)/,
    );
    expect(h.events.length).toBe(eventsBefore);
    const record = (await undo(h.env, { reason: "INC-231: checkout errors" })) as UndoRecord;
    expect(record).toMatchObject({
      command: "deploy",
      tag: "1.1.0",
      outcome: "succeeded",
      undoes: { id: second.id, tag: "1.2.0", reason: "INC-231: checkout errors" },
    });
    expect(record.steps.map((s) => s.name)).toEqual(["undo", "canary 10%", "canary 50%", "canary 100%", "promote"]);
    expect(record.steps[0]!.detail).toMatch(/^takes back 1\.2\.0 .*releases 1\.1\.0.*; reason: INC-231: checkout errors$/);
    for (const svc of ["qualisys-api", "qualisys-web"]) {
      expect(imageOf(deployment(h.sim, `${svc}-stable`), svc)).toBe(pinned(svc, "1.1.0"));
      expect(stableTemplateImages(h.events, svc).slice(-2)).toEqual([pinned(svc, "1.2.0"), pinned(svc, "1.1.0")]);
    }
    expect(maxWeight(h.events.slice(eventsBefore), "ingress-nginx")).toBe(100);
    await expectResting(h, "1.1.0", "succeeded");
    expectInvariants(h);
  });

  it("--skip-canary with a reason: straight back to what ran before, no canary traffic", async () => {
    h = await startHarness({});
    await deploy(h.env, { tag: "1.1.0" });
    const eventsBefore = h.events.length;
    const r = await bin(h, ["undo", "--skip-canary", "--reason", "INC-232", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as UndoRecord;
    expect(record).toMatchObject({ tag: OLD, skipCanary: { reason: "INC-232" }, undoes: { tag: "1.1.0" } });
    expect(record.steps.map((s) => s.name)).toEqual(["undo", "promote"]);
    expect(maxWeight(h.events.slice(eventsBefore), "ingress-nginx")).toBe(0);
    // The manifests' 1.0.0 ran by tag: that is what stable runs again (no digest was recorded for it).
    for (const svc of ["qualisys-api", "qualisys-web"])
      expect([image(svc, OLD), pinned(svc, OLD)]).toContain(imageOf(deployment(h.sim, `${svc}-stable`), svc));
    await expectResting(h, OLD, "succeeded");
  });

  it("refuses (exit 2, nothing changed) when stable changed since the release, or nothing is recorded", async () => {
    h = await startHarness({});
    const none = await bin(h, ["undo"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no finished release is recorded .* nothing to undo/);
    await deploy(h.env, { tag: "1.1.0" });
    const set = await h.kubectl.run([
      "-n",
      NS,
      "set",
      "image",
      "deployment/qualisys-web-stable",
      `qualisys-web=${image("qualisys-web", "1.1.5")}`,
    ]);
    expect(set.exitCode, set.stderr).toBe(0);
    const eventsBefore = h.events.length;
    const r = await bin(h, ["undo", "--reason", "try"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /refused: stable changed since release 1\.1\.0 .*: qualisys-web-stable runs .*qualisys-web:1\.1\.5, not .*qualisys-web@sha256:.*; nothing was changed/,
    );
    expect(
      h.events.slice(eventsBefore).filter((e) => e.event.type !== "ADDED" && (e.event.object as any).metadata?.name?.includes("canary")),
    ).toEqual([]);
  });

  it("the tag pushed again since: the canary runs another digest than stable ran, and the undo rolls back before any traffic", async () => {
    h = await startHarness({ services: ["qualisys-api"] });
    await deploy(h.env, { tag: "1.1.0" });
    await deploy(h.env, { tag: "1.2.0" });
    h.sim.kubelet.repush(image("qualisys-api", "1.1.0"));
    const eventsBefore = h.events.length;
    const err = await undo(h.env, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedError);
    expect((err as Error).message).toMatch(
      /the canary of qualisys-api now runs sha256:\w+, not sha256:\w+, the digest this release recorded .*pushed again since/,
    );
    expect(maxWeight(h.events.slice(eventsBefore), "ingress-nginx")).toBe(0);
    await expectResting(h, "1.2.0", "rolled-back", ["qualisys-api"]);
  });
});
