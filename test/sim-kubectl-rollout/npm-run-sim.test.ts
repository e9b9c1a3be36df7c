/** `npm run sim` (test/sim/main.ts) as a user runs it: prints where it listens, serves kubectl, stops on SIGTERM. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect, it } from "vitest";
import { kubectlFor } from "../helpers/kubectl.ts";

const main = join(import.meta.dirname, "../sim/main.ts");

it("prints the API URL, edge URL and kubeconfig, serves them, and exits 0 on SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sim-main-"));
  const kubeconfig = join(dir, "kc.yaml");
  const child = execa(process.execPath, [main, "--kubeconfig", kubeconfig, "--scenario", join(import.meta.dirname, "../sim/scenarios/gateway-api.yaml")], { reject: false });
  try {
    const out = await new Promise<string>((resolve, reject) => {
      let buf = "";
      child.stdout!.on("data", (c: Buffer) => {
        buf += c.toString();
        if (buf.includes("Ctrl-C to stop.")) resolve(buf);
      });
      void child.then((r) => reject(new Error(`exited early (${r.exitCode}): ${buf}${r.stderr}`)));
    });
    const api = /API server:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const edge = /Traffic edge:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(api).toBeDefined();
    expect(edge).toBeDefined();
    expect(out).toContain(`Kubeconfig:  ${kubeconfig}`);
    const k = await kubectlFor(kubeconfig);
    const status = await k.run(["-n", "production", "rollout", "status", "deployment/qualisys-api", "--timeout=60s"]);
    await k.dispose();
    expect(status.exitCode).toBe(0);
    const r = await fetch(edge + "/api/health");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-app-version")).toBe("1.0.0");
    child.kill("SIGTERM");
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("SIGTERM: stopping the simulator");
    expect(existsSync(kubeconfig)).toBe(true); // a path the user chose is theirs to keep
  } finally {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});

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
