/**
 * What users read when the Kubernetes API says no, through the real bin (defect 5 of issue 9): a missing
 * namespace or object, or an API that cannot be reached, is said with the server, the object and what to check;
 * client-node's "HTTP-Code: 404 Message: Unknown API Status Code! Body: …" and undici's bare "fetch failed" never
 * reach the output.
 */
import { createServer } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { bin, BIN, binEnv } from "../support/bin.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const RAW = /HTTP-Code|Unknown API Status Code|^fetch failed|: fetch failed$|Body: /m;

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("API failures in words", () => {
  it(
    "a namespace that does not exist: the deployer is told it has no Role there; " +
      "to an admin, status reports the Deployments missing and rollback names the server, the namespace and what to check",
    async () => {
      h = await startHarness({});
      const doc = parse(await readFile(h.configPath, "utf8"));
      doc.namespace = "staging";
      const config = join(h.dir, "staging.yaml");
      await writeFile(config, stringify(doc));

      // The deployer has no Role there: Kubernetes authorizes before it looks, so it answers 403, said as such.
      // Nothing could be read at all: a refusal (exit 2), not a verdict on production.
      const refused = await bin(h, ["status"], config);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(
          /could not read anything from the cluster \(the Deployments of namespace staging\): /.source +
            /.* forbids it .*: the identity needs the release-gate Role in namespace staging/.source,
        ),
      );
      expect(refused.stderr).not.toMatch(RAW);

      // Someone allowed everywhere (the cluster's admin) gets the 404s.
      const asAdmin = async (args: string[]) => {
        const r = await execa(process.execPath, [BIN, ...args, "--config", config, "--kubeconfig", h!.sim.kubeconfigPath], {
          reject: false,
          env: binEnv(h!),
          extendEnv: false,
          timeout: 60_000,
        });
        return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
      };
      const status = await asAdmin(["status"]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/namespace staging: NOT at rest/);
      expect(status.stdout).toMatch(/stable {2}MISSING \(Deployment qualisys-api-stable does not exist: no pods, no traffic\)/);
      expect(status.stdout).toMatch(/PRODUCTION IS NOT HEALTHY:\n {2}- stable Deployment qualisys-api-stable does not exist/);
      expect(status.stdout + status.stderr).not.toMatch(RAW);

      const rollback = await asAdmin(["rollback"]);
      expect(rollback.code).toBe(1);
      expect(rollback.stderr).toMatch(
        new RegExp(
          `rollback stopped while taking the release lock: the Kubernetes API at ${h.sim.apiUrl.replace(/[.]/g, "\\.")} answered 404: ` +
            `namespaces "staging" not found\\. ` +
            "Check that namespace staging and the object exist \\(`kubectl get namespace staging`\\).*; nothing was changed by this run",
        ),
      );
      expect(rollback.stderr).not.toMatch(RAW);
    },
    60_000,
  );

  it("an API server that cannot be reached: status and rollback name it and say what to check", async () => {
    h = await startHarness({});
    const kubeconfig = parse(await readFile(h.sim.kubeconfigPath, "utf8"));
    const server = `http://127.0.0.1:${await closedPort()}`;
    kubeconfig.clusters[0].cluster.server = server;
    const dead = join(h.dir, "dead-kubeconfig");
    await writeFile(dead, stringify(kubeconfig));
    const run = (args: string[]) =>
      execa(process.execPath, [BIN, ...args, "--config", h!.configPath, "--kubeconfig", dead], {
        reject: false,
        env: binEnv(h!),
        extendEnv: false,
        timeout: 60_000,
      });
    // Nothing could be read: exit 2, naming the server (issue 13, item 15).
    const status = await run(["status"]);
    expect(status.exitCode).toBe(2);
    expect(String(status.stderr)).toContain(
      `status: could not read anything from the cluster (the Deployments of namespace production): cannot reach the Kubernetes API at ` +
        `${server} (ECONNREFUSED): check the kubeconfig's server address`,
    );
    const rollback = await run(["rollback"]);
    expect(rollback.exitCode).toBe(2); // Nothing could be read, nothing was changed: refused.
    expect(String(rollback.stderr)).toContain(
      `rollback stopped while taking the release lock: cannot reach the Kubernetes API at ${server} (ECONNREFUSED)`,
    );
    for (const r of [status, rollback]) expect(String(r.stderr)).not.toMatch(RAW);
  }, 90_000);
});
