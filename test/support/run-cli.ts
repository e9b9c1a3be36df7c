/** Runs the real `release-gate` bin with the test's Node (24), argument arrays only, never a shell. */
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const BIN = fileURLToPath(new URL("../../bin/release-gate.js", import.meta.url));

export async function releaseGate(args: string[], env: Record<string, string | undefined> = {}) {
  const r = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    // A clean environment: no token leaks in from the developer's shell.
    env: { ...env, PATH: process.env.PATH },
    extendEnv: false,
    timeout: 20_000,
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}
