/**
 * `npm run demo`: the whole release story on a machine with no cluster, in about a minute.
 *
 * It starts the Kubernetes simulator (test/sim/: a real HTTP API, simulated controllers and kubelet, a traffic
 * edge), applies the real production manifests with the real kubectl, then drives the real `release-gate` CLI:
 * a plan, a good release that goes 10 → 50 → 100 % and is promoted, a bad release whose canary crash-loops and
 * is rolled back by itself, then `status` and `history`. Everything it prints about the cluster is SIMULATED.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { kubectlFor } from "../test/support/kubectl.ts";
import { startSim } from "../test/sim/index.ts";

const repo = fileURLToPath(new URL("../", import.meta.url));
const bin = join(repo, "bin", "release-gate.js");

const GOOD = "1.1.0";
const BAD = "1.2.0-bad";

const banner = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

async function main(): Promise<number> {
  banner("Starting a SIMULATED Kubernetes cluster (test/sim/) — nothing here touches a real cluster");
  const sim = await startSim({
    scenario: {
      timeScale: { msPerSecond: 20 },
      images: [{ tag: "*-bad", pod: { kind: "crashLoop", crashAfterSeconds: 2 } }],
      edge: { defaultHost: "app.qualisys.io" },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), "release-gate-demo-"));
  const kubectl = await kubectlFor(sim.kubeconfigPath);
  try {
    process.stdout.write(`API ${sim.apiUrl}  edge ${sim.edgeUrl}  kubeconfig ${sim.kubeconfigPath}\n`);

    banner("kubectl apply -k kubernetes/production (the real kubectl, the real manifests)");
    const applied = await kubectl.run(["apply", "-k", join(repo, "kubernetes/production")]);
    process.stdout.write(applied.stdout + applied.stderr);
    if (applied.exitCode !== 0) return 1;

    // The production release.yaml with observation windows short enough for a demo.
    const doc = parse(await readFile(join(repo, "kubernetes/production/release.yaml"), "utf8"));
    doc.phases = [
      { weight: 10, observe: "4s" },
      { weight: 50, observe: "2s" },
      { weight: 100, observe: "2s" },
    ];
    doc.smoke = { ...doc.smoke, probeInterval: "1s" };
    const config = join(dir, "release.yaml");
    await writeFile(config, stringify(doc));

    // plan reads only release.yaml; every other command talks to the (simulated) cluster.
    const cli = (args: string[]) =>
      execa(process.execPath, [bin, ...args, "--config", config, ...(args[0] === "plan" ? [] : ["--kubeconfig", sim.kubeconfigPath])], {
        reject: false,
        stdio: "inherit",
        // The public URLs (app.qualisys.io, api.qualisys.io) are reached through the simulator's edge.
        env: { RELEASE_GATE_RESOLVE: `*=${sim.edgeUrl}`, SMOKE_TEST_TOKEN: "demo-token" },
      });

    banner(`release-gate plan --tag ${GOOD}`);
    if ((await cli(["plan", "--tag", GOOD])).exitCode !== 0) return 1;

    banner(`release-gate deploy --tag ${GOOD}   (a good release: expect it promoted, exit 0)`);
    const good = await cli(["deploy", "--tag", GOOD]);
    if (good.exitCode !== 0) {
      process.stdout.write(`\nThe good release did not succeed (exit ${good.exitCode}).\n`);
      return 1;
    }

    banner(`release-gate deploy --tag ${BAD}   (its canary crash-loops: expect an automatic rollback, exit 1)`);
    const bad = await cli(["deploy", "--tag", BAD]);
    if (bad.exitCode !== 1) {
      process.stdout.write(`\nThe bad release should have been rolled back with exit 1, got ${bad.exitCode}.\n`);
      return 1;
    }

    banner("release-gate status");
    await cli(["status"]);
    banner("release-gate history");
    await cli(["history"]);

    banner(`Done (SIMULATED): ${GOOD} was released through 10 → 50 → 100 %, ${BAD} was rolled back by itself.`);
    return 0;
  } finally {
    await kubectl.dispose();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
