/** The Prometheus credential: from an environment variable or a Secret, named in release.yaml, never its value. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAuthorization } from "#src/analysis/credentials.ts";
import { kubeFromConfig, type Kube } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import { UsageError } from "#src/errors.ts";
import { startSim, type Sim } from "../sim/index.ts";

let sim: Sim;
let kube: Kube;
beforeAll(async () => {
  sim = await startSim({
    scenario: {
      objects: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "production" } },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "prometheus-auth", namespace: "production" },
          data: { token: Buffer.from("from-a-secret\n").toString("base64") },
        },
      ],
    },
  });
  kube = kubeFromConfig(loadKubeConfig({ path: sim.kubeconfigPath }));
});
afterAll(() => sim.stop());

const analysis = (auth: unknown) =>
  ({ prometheus: { url: "http://p", auth, timeout: 1000, retries: 0 }, interval: 1, window: 1000, checks: [] }) as never;
const src = (env: NodeJS.ProcessEnv = {}) => ({ kube, namespace: "production", env });

describe("Prometheus credentials", () => {
  it("reads a bearer token from the named variable, or a key of a Secret", async () => {
    expect(await resolveAuthorization(analysis({ bearerToken: { env: "PROM_TOKEN" } }), src({ PROM_TOKEN: "from-env" }))).toBe(
      "Bearer from-env",
    );
    expect(await resolveAuthorization(analysis({ bearerToken: { secret: { name: "prometheus-auth", key: "token" } } }), src())).toBe(
      "Bearer from-a-secret",
    );
    expect(await resolveAuthorization(analysis({ basic: { username: "rg", password: { env: "PW" } } }), src({ PW: "pw" }))).toBe(
      `Basic ${Buffer.from("rg:pw").toString("base64")}`,
    );
    expect(await resolveAuthorization(analysis(undefined), src())).toBeUndefined();
  });

  it("refuses, naming where it looked, when the credential is missing", async () => {
    await expect(resolveAuthorization(analysis({ bearerToken: { env: "PROM_TOKEN" } }), src())).rejects.toThrow(
      new UsageError("analysis.prometheus.auth.bearerToken: environment variable PROM_TOKEN is not set (or empty); nothing was changed"),
    );
    await expect(
      resolveAuthorization(analysis({ bearerToken: { secret: { name: "prometheus-auth", key: "tok" } } }), src()),
    ).rejects.toThrow('Secret production/prometheus-auth has no key "tok"');
    await expect(resolveAuthorization(analysis({ bearerToken: { secret: { name: "nope", key: "token" } } }), src())).rejects.toThrow(
      /cannot read Secret production\/nope \(HTTP 404/,
    );
  });
});
