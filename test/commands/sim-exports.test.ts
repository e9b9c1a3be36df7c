/**
 * `npm run sim` prints the lines that make release-gate work against the simulator (KUBECONFIG,
 * RELEASE_GATE_RESOLVE, a token, kubectl apply, then release-gate). This runs exactly those lines in a shell,
 * with nothing else in the environment, and the release-gate commands they name through the bin.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { expect, it } from "vitest";
import { resolveKubectl } from "../support/kubectl.ts";

const repo = join(import.meta.dirname, "../..");

it("the export lines npm run sim prints make plan, deploy and status work against it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rg-sim-exports-"));
  const sim = execa(process.execPath, [join(repo, "test/sim/main.ts"), "--kubeconfig", join(dir, "kube config")], {
    reject: false,
    cwd: repo,
  });
  try {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      sim.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("Ctrl-C to stop.")) resolve();
      });
      void sim.then(() => reject(new Error(`the simulator exited before it was ready:\n${out}`)));
    });
    const block = out.slice(out.indexOf("Drive release-gate against it"), out.indexOf("Ctrl-C to stop."));
    expect(block).toContain("SIMULATED");
    const lines = block
      .split("\n")
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean);
    const setup = lines.filter((l) => !l.startsWith("npx --no -- release-gate "));
    const commands = lines.filter((l) => l.startsWith("npx --no -- release-gate ")).map((l) => l.replace(/\s+#.*$/, ""));
    expect(setup.filter((l) => l.startsWith("export ")).map((l) => l.split("=")[0])).toEqual([
      "export KUBECONFIG",
      "export RELEASE_GATE_RESOLVE",
      "export SMOKE_TEST_TOKEN",
    ]);
    expect(commands.map((c) => c.split(" ")[4])).toEqual(["plan", "deploy", "status"]);

    // The deploy with release.yaml's windows takes minutes: the same file with short ones, nothing else changed.
    const doc = parse(await readFile(join(repo, "kubernetes/production/release.yaml"), "utf8"));
    doc.phases = doc.phases.map((p: { weight: number }) => ({ weight: p.weight, observe: "300ms" }));
    doc.smoke.probeInterval = "100ms";
    const fast = join(dir, "release.yaml");
    await writeFile(fast, stringify(doc));

    const kubectl = await resolveKubectl();
    const exports = setup.filter((l) => l.startsWith("export "));
    const shell = (command: string) =>
      execa("bash", ["-euo", "pipefail", "-c", [...exports, command].join("\n")], {
        cwd: repo,
        reject: false,
        // Nothing from the test's own environment but PATH (with a kubectl on it) and a HOME of its own.
        env: { PATH: `${dirname(kubectl.path)}:${process.env.PATH}`, HOME: dir },
        extendEnv: false,
        timeout: 120_000,
      });
    const run = async (command: string) => {
      const r = await shell(command);
      return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    };

    // The one-time set-up lines (kubectl apply -k kubernetes/production), then each release-gate line.
    for (const line of setup.filter((l) => !l.startsWith("export "))) {
      const r = await run(line);
      expect(r.code, `${line}: ${r.stderr}`).toBe(0);
    }
    const [plan, deploy, status] = commands;
    const planned = await run(plan);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain("release-gate plan: 1.1.0 to production (qualisys-api, qualisys-web) via ingress-nginx");

    const released = await run(`${deploy} --config ${JSON.stringify(fast)}`);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toMatch(/release-gate deploy `1\.1\.0` to production: ✅ succeeded/);
    // The token was there and the public URLs answered through the edge: no skipped check, no failed one.
    expect(released.stderr).not.toContain("no smoke-test token");
    expect(released.stdout).toContain("✓ https://app.qualisys.io");

    const now = await run(status);
    expect(now.code, now.stderr).toBe(0);
    expect(now.stdout).toMatch(/stable +\S+:1\.1\.0/);
  } finally {
    sim.kill("SIGTERM");
    await sim;
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000);
