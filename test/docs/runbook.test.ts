/**
 * docs/runbook.md's "release-gate itself cannot run" section is executed as written: every fenced block of it,
 * pasted into bash with the real kubectl (the admin's credentials, as an operator's) against the simulator, after
 * a release was SIGKILLed while promoting (stable half-changed, the canary at 100 %). Production must end on the
 * previous version with no canary traffic, and release-gate's own rollback afterwards must find it at rest.
 */
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { bin, killDeployAt, stableChanged, waitLockStale } from "../support/bin.ts";
import { deployment, imageOf, NS, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { image, pinned } from "../support/scenario.ts";

let h: Harness | undefined;
let bindir: string | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  if (bindir) await rm(bindir, { recursive: true, force: true });
});

/** The fenced blocks of a section (from its heading to the next `## `), with their info strings. */
async function blocks(heading: string): Promise<Array<{ lang: string; code: string }>> {
  const doc = await readFile("docs/runbook.md", "utf8");
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start, `docs/runbook.md has no "${heading}"`).toBeGreaterThan(0);
  const end = doc.indexOf("\n## ", start + heading.length + 2);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

describe("docs/runbook.md, section 5, run as written", () => {
  it("takes production back to the previous version by hand after a run died during promotion", { timeout: 120_000 }, async () => {
    h = await startHarness({
      scenario: { images: [{ tag: "1.6.0", pod: { kind: "ready", startSeconds: 30, readyAfterSeconds: 1 } }] },
      config: (d) => (d.lock.ttl = "12s"),
    });
    // Killed once promotion has changed every stable Deployment (a condition, not a delay: the machine may be slow).
    await killDeployAt(
      h,
      "1.6.0",
      "promote · weight 100% · started",
      stableChanged(h, (svc) => image(svc, OLD)),
    );
    // Promotion pins stable to the digest the canary ran.
    expect(imageOf(deployment(h.sim, "qualisys-api-stable"), "qualisys-api")).toBe(pinned("qualisys-api", "1.6.0"));

    const section = await blocks("## 5. Only if release-gate itself cannot run");
    const kubectlBlocks = section.filter((b) => b.code.trim().startsWith("kubectl"));
    expect(kubectlBlocks.length).toBe(3);
    expect(kubectlBlocks.some((b) => b.code.includes("release-gate\\.qualisys\\.io/tag"))).toBe(true);
    // `kubectl` on PATH is the tests' real kubectl, pointed at the simulator with the admin's kubeconfig.
    bindir = await mkdtemp(join(tmpdir(), "runbook-bin-"));
    await symlink(h.kubectl.binary.path, join(bindir, "kubectl"));
    const home = await mkdtemp(join(bindir, "home-"));
    for (const { lang, code } of kubectlBlocks) {
      expect(lang).toBe("sh");
      const r = await execa("bash", ["-euo", "pipefail", "-c", code], {
        reject: false,
        env: { PATH: `${bindir}:${process.env.PATH}`, KUBECONFIG: h.sim.kubeconfigPath, HOME: home },
        timeout: 60_000,
      });
      expect(r.exitCode, `${code}\n${r.stderr}`).toBe(0);
      // The look at stable names the tag a digest-pinned stable was released as.
      if (code.includes("release-gate\\.qualisys\\.io/tag"))
        expect(String(r.stdout)).toMatch(/^qualisys-api-stable\t1\.6\.0@sha256:[0-9a-f]{64}$/m);
    }

    for (const svc of ["qualisys-api", "qualisys-web"]) {
      expect(deployment(h.sim, `${svc}-canary`).spec.replicas).toBe(0);
      const stable = deployment(h.sim, `${svc}-stable`);
      expect(imageOf(stable, svc)).toBe(image(svc, OLD));
      expect(stable.status.updatedReplicas).toBe(stable.spec.replicas);
    }
    const canary = h.sim.store.get("networking.k8s.io/v1/ingresses", NS, "production-ingress-canary") as any;
    expect(canary.metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]).toBe("0");

    // The last block: release-gate's own rollback, once it runs again, clears what the dead run left.
    const last = section.at(-1)!.code.trim();
    expect(last).toMatch(/^release-gate rollback --reason "[^"]+"$/);
    await waitLockStale(h);
    const rb = await bin(h, ["rollback", "--reason", "manual rollback during INC-231"]);
    expect(rb.code, rb.stderr).toBe(0);
    const status = JSON.parse((await bin(h, ["status", "--json"])).stdout);
    expect(status.resting).toBe(true);
  });
});
