/** Driving the real bin against a scenario's simulator (execa, argument arrays), for the CLI scenarios. */
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { readLock } from "#src/kube/lease-lock.ts";
import { NS, type Harness } from "./pipeline-harness.ts";

export const BIN = fileURLToPath(new URL("../../bin/release-gate.js", import.meta.url));

export function binEnv(h: Harness): Record<string, string> {
  return { PATH: process.env.PATH ?? "", RELEASE_GATE_RESOLVE: `*=${h.sim.edgeUrl}`, USER: "cli-tester" };
}

export function spawnBin(h: Harness, args: string[], config = h.configPath): ResultPromise {
  return execa(process.execPath, [BIN, ...args, "--config", config, "--kubeconfig", h.kubeconfigPath], {
    reject: false,
    env: binEnv(h),
    extendEnv: false,
    timeout: 60_000,
  });
}

export async function bin(h: Harness, args: string[], config?: string) {
  const r = await spawnBin(h, args, config);
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Resolves once the running bin has printed `text` on stderr (its progress output). */
export function whenStderr(p: ResultPromise, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    p.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    p.stderr!.on("end", () => reject(new Error(`the bin ended without printing ${JSON.stringify(text)}:\n${seen}`)));
  });
}

/** Start `deploy --tag` through the bin and SIGKILL it once it printed `when` (a progress line). */
export async function killDeployAt(h: Harness, tag: string, when: string, settle = 0): Promise<void> {
  const run = spawnBin(h, ["deploy", "--tag", tag]);
  await whenStderr(run, when);
  if (settle) await new Promise((r) => setTimeout(r, settle));
  run.kill("SIGKILL");
  await run;
}

/**
 * Resolves once the lock's holder has stopped renewing long enough to count as dead (stale), so `rollback` and
 * `deploy --resume` may take it over without --force.
 */
export async function waitLockStale(h: Harness, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readLock(h.env.kube, NS))?.stale) {
    if (Date.now() > deadline) throw new Error("the lock never became stale");
    await new Promise((r) => setTimeout(r, 100));
  }
}
