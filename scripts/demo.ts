/**
 * `npm run demo`: the whole release story on a machine with no cluster, in about a minute.
 *
 * It starts the Kubernetes simulator (test/sim/: a real HTTP API, simulated controllers and kubelet, a traffic
 * edge), applies the real production manifests with the real kubectl, then drives the real `release-gate` CLI:
 * a plan, a good release that goes 10 → 50 → 100 % and is promoted, a bad release whose canary crash-loops and
 * is rolled back by itself, then `status` and `history`. Everything it prints about the cluster is SIMULATED: every
 * banner says so, every release record the CLI prints is marked so in its heading, and every step ends with a
 * summary line that says so (test/commands/demo.test.ts holds all three).
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

const SIMULATED = "SIMULATED cluster";
const banner = (text: string) => process.stdout.write(`\n\x1b[1m== [${SIMULATED}] ${text}\x1b[0m\n`);
const summary = (text: string) => process.stdout.write(`-- [${SIMULATED}] ${text}\n`);
/** The CLI's own output, with each release record's heading marked: a record must never read as production's. */
const markRecords = (text: string) => text.replace(/^(## release-gate .*)$/gm, `$1 (${SIMULATED})`);

async function main(): Promise<number> {
  banner("Starting the Kubernetes simulator (test/sim/) — nothing here touches a real cluster");
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
    summary(`simulator up: API ${sim.apiUrl}  edge ${sim.edgeUrl}  kubeconfig ${sim.kubeconfigPath}`);

    banner("kubectl apply -k kubernetes/production (the real kubectl, the real manifests)");
    const applied = await kubectl.run(["apply", "-k", join(repo, "kubernetes/production")]);
    process.stdout.write([applied.stdout, applied.stderr].filter(Boolean).join("\n") + "\n");
    if (applied.exitCode !== 0) {
      summary(`kubectl apply failed (exit ${applied.exitCode})`);
      return 1;
    }
    summary("the production manifests are applied to the simulator");

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

    // plan reads only release.yaml; every other command talks to the (simulated) cluster. Progress (stderr) streams
    // as it comes; the result (stdout) is shown once the command ends, its release records marked as simulated.
    const cli = async (args: string[]) => {
      const r = await execa(
        process.execPath,
        [bin, ...args, "--config", config, ...(args[0] === "plan" ? [] : ["--kubeconfig", sim.kubeconfigPath])],
        {
          reject: false,
          stdin: "ignore",
          stdout: "pipe",
          stderr: "inherit",
          // The public URLs (app.qualisys.io, api.qualisys.io) are reached through the simulator's edge.
          env: { RELEASE_GATE_RESOLVE: `*=${sim.edgeUrl}`, SMOKE_TEST_TOKEN: "demo-token" },
        },
      );
      process.stdout.write(markRecords(String(r.stdout)) + (String(r.stdout).endsWith("\n") ? "" : "\n"));
      return r.exitCode;
    };

    banner(`release-gate plan --tag ${GOOD}`);
    const planned = await cli(["plan", "--tag", GOOD]);
    summary(`plan exited ${planned}: the steps and worst case of a release of ${GOOD}`);
    if (planned !== 0) return 1;

    banner(`release-gate deploy --tag ${GOOD}   (a good release: expect it promoted, exit 0)`);
    const good = await cli(["deploy", "--tag", GOOD]);
    if (good !== 0) {
      summary(`the good release did not succeed (exit ${good})`);
      return 1;
    }
    summary(`${GOOD} went 10 → 50 → 100 % and was promoted on the simulated cluster (exit 0)`);

    banner(`release-gate deploy --tag ${BAD}   (its canary crash-loops: expect an automatic rollback, exit 1)`);
    const bad = await cli(["deploy", "--tag", BAD]);
    if (bad !== 1) {
      summary(`the bad release should have been rolled back with exit 1, got ${bad}`);
      return 1;
    }
    summary(`${BAD}'s canary crash-looped and was rolled back by itself; stable still runs ${GOOD} (exit 1)`);

    banner("release-gate status");
    summary(`status exited ${await cli(["status"])}: what the simulated cluster runs now`);
    banner("release-gate history");
    summary(`history exited ${await cli(["history"])}: the releases recorded in the simulated cluster`);

    banner(`Done: ${GOOD} was released through 10 → 50 → 100 %, ${BAD} was rolled back by itself.`);
    summary("nothing above touched a real cluster: the API server, controllers, pods and traffic were simulated (test/sim/)");
    return 0;
  } finally {
    await kubectl.dispose();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
