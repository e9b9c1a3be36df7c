/** Driving the real bin against a scenario's simulator (execa, argument arrays), for the CLI scenarios. */
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { readLock } from "#src/kube/lease-lock.ts";
import { NS, type Harness } from "./pipeline-harness.ts";

export const BIN = fileURLToPath(new URL("../../bin/release-gate.js", import.meta.url));

export function binEnv(h: Harness): Record<string, string> {
  return { PATH: process.env.PATH ?? "", RELEASE_GATE_RESOLVE: `*=${h.sim.edgeUrl}`, USER: "cli-tester" };
}

/** The bin with `args`, against the scenario's simulator as the deployer; `env` adds variables (e.g. NODE_OPTIONS). */
export function spawnBin(h: Harness, args: string[], config = h.configPath, env: Record<string, string> = {}): ResultPromise {
  return execa(process.execPath, [BIN, ...args, "--config", config, "--kubeconfig", h.kubeconfigPath], {
    reject: false,
    env: { ...binEnv(h), ...env },
    extendEnv: false,
    timeout: 60_000,
  });
}

export async function bin(h: Harness, args: string[], config?: string, env?: Record<string, string>) {
  const r = await spawnBin(h, args, config, env);
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

/**
 * Start `deploy --tag` through the bin and SIGKILL it once it printed `when` (a progress line) and, when given,
 * once `until` holds (e.g. the cluster shows the change the kill must come after).
 */
export async function killDeployAt(h: Harness, tag: string, when: string, until?: () => boolean): Promise<void> {
  const run = spawnBin(h, ["deploy", "--tag", tag]);
  await whenStderr(run, when);
  for (let i = 0; until && !until(); i++) {
    if (i > 3000) throw new Error(`the condition to kill the run at "${when}" never held`);
    await new Promise((r) => setTimeout(r, 20));
  }
  run.kill("SIGKILL");
  await run;
}

/** Every stable Deployment's template already names another image than `before`: promotion is under way. */
export function stableChanged(h: Harness, before: (service: string) => string): () => boolean {
  return () =>
    h.env.config.services.every((s) => {
      const d = h.sim.store.get("apps/v1/deployments", NS, s.stable.deployment) as
        { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } } | undefined;
      return d?.spec.template.spec.containers.find((c) => c.name === s.container)?.image !== before(s.name);
    });
}

/**
 * Resolves once the lock's holder has stopped renewing long enough to look dead by this machine's clock (stale): a
 * killed run's renewals are surely over. The takeover itself (`rollback`, `deploy --resume`/`--repair`) still
 * watches the Lease for 3 renew intervals before it takes it.
 */
export async function waitLockStale(h: Harness, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readLock(h.env.kube, NS))?.stale) {
    if (Date.now() > deadline) throw new Error("the lock never became stale");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves once the lock's Lease has expired (its holder stopped renewing for a whole ttl): any run may take it. */
export async function waitLockExpired(h: Harness, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = await readLock(h.env.kube, NS);
    if (!lock || lock.expired) return;
    if (Date.now() > deadline) throw new Error("the lock never expired");
    await new Promise((r) => setTimeout(r, 100));
  }
}
