/**
 * `npm run sim` as a user runs it — npm → sh -c → node test/sim/main.ts, in a process group of its own as a
 * terminal would start it: prints where it listens, serves kubectl and the edge, and stops completely (every
 * process of the group gone) on Ctrl-C, i.e. SIGINT to the process group, and on SIGTERM to npm alone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect, it } from "vitest";
import { kubectlFor } from "../../../support/kubectl.ts";

const repo = join(import.meta.dirname, "../../../..");
const main = join(repo, "test/sim/main.ts");
const scenario = join(repo, "test/sim/scenarios/gateway-api.yaml");

interface NpmSim {
  child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
  exited: Promise<number | null>;
}

function startNpmSim(args: string[]): NpmSim {
  // detached: a new process group led by npm, as a shell's job control gives `npm run sim` in a terminal.
  const child = spawn("npm", ["run", "sim", "--", ...args], { cwd: repo, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until(what: string, f: () => boolean, describe: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether any process of the group is left (signal 0 checks without signalling). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

/** Start, wait for the banner, return the URLs; the caller stops it. */
async function started(sim: NpmSim): Promise<{ api: string; edge: string }> {
  await until("the banner", () => sim.output().includes("Ctrl-C to stop.") || sim.child.exitCode !== null, sim.output);
  const api = /API server:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(sim.output())?.[1];
  const edge = /Traffic edge:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(sim.output())?.[1];
  if (!api || !edge) throw new Error(`no URLs in the output: ${sim.output()}`);
  return { api, edge };
}

it("npm run sim prints the API URL, edge URL and kubeconfig, serves them, and Ctrl-C (SIGINT to the group) stops every process", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sim-main-"));
  const kubeconfig = join(dir, "kc.yaml");
  const sim = startNpmSim(["--kubeconfig", kubeconfig, "--scenario", scenario]);
  const pgid = sim.child.pid!;
  try {
    const { api, edge } = await started(sim);
    expect(sim.output()).toContain(`Kubeconfig:  ${kubeconfig}`);
    const k = await kubectlFor(kubeconfig);
    const status = await k.run(["-n", "production", "rollout", "status", "deployment/qualisys-api", "--timeout=60s"]);
    await k.dispose();
    expect(status.exitCode).toBe(0);
    const r = await fetch(edge + "/api/health");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-app-version")).toBe("1.0.0");

    process.kill(-pgid, "SIGINT");
    await sim.exited;
    await until("every process of the group to exit", () => !groupAlive(pgid), sim.output);
    expect(sim.output()).toContain("SIGINT: stopping the simulator");
    expect(await refused(api + "/version")).toBe(true);
    expect(await refused(edge + "/api/health")).toBe(true);
    expect(existsSync(kubeconfig)).toBe(true); // a path the user chose is theirs to keep
  } finally {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000); // longer than the waits inside, so the finally always cleans up

it("SIGTERM to npm alone (npm forwards it to sh, which dies) still stops the simulator: it exits when its parent goes away", async () => {
  const sim = startNpmSim(["--scenario", scenario]);
  const pgid = sim.child.pid!;
  try {
    const { api } = await started(sim);
    const kubeconfig = /Kubeconfig:\s+(\S+)/.exec(sim.output())![1]!;
    sim.child.kill("SIGTERM");
    await until("every process of the group to exit", () => !groupAlive(pgid), sim.output);
    expect(await refused(api + "/version")).toBe(true);
    expect(existsSync(kubeconfig)).toBe(false); // stopped cleanly: its temporary kubeconfig is removed
  } finally {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
  }
}, 180_000);

it("refuses an invalid scenario file with the field's path and exit code 2", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sim-main-"));
  try {
    const file = join(dir, "bad.yaml");
    await writeFile(file, "images:\n  - tag: '*'\n    pod: { kind: sometimes }\n");
    const r = await execa(process.execPath, [main, "--scenario", file], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`invalid scenario file ${file}`);
    expect(r.stderr).toContain("images[0].pod.kind");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
