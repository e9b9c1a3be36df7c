/**
 * The Prometheus credential of metric analysis from a Secret (`auth … secret:`), under the simulator's RBAC
 * enforcement, as the deployer group. The base Role grants no Secret; kubernetes/production/components/
 * analysis-secret adds `get` on the documented one by name. Without it the release is refused naming the grant
 * it lacks; with it the credential is read, and the component grants nothing else.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { resolveAuthorization } from "#src/analysis/credentials.ts";
import { bin } from "../support/bin.ts";
import { DEPLOYER, NS, deployment, imageOf, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { freePort } from "../support/prometheus.ts";
import { grantsOf, unusedGrants } from "./rbac-rules.ts";

const COMPONENT = "kubernetes/production/components/analysis-secret";
const TOKEN = "s3cret-token-value";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** The shipped example with its credential in the documented Secret; Prometheus itself is never reached here. */
async function harness(components: string[] = []): Promise<Harness> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const started = await startHarness({
    components,
    config: (d) => {
      const a = parse(readFileSync("kubernetes/production/analysis-examples/ingress-nginx.yaml", "utf8")).analysis;
      a.prometheus = { ...a.prometheus, url, auth: { bearerToken: { secret: { name: "prometheus-auth", key: "token" } } } };
      d.analysis = a;
    },
  });
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "prometheus-auth", namespace: NS },
    data: { token: Buffer.from(TOKEN).toString("base64") },
  };
  const r = await started.kubectl.run(["apply", "-f", "-"], { input: stringify(secret) });
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return started;
}

const secretRequests = (x: Harness) =>
  x.sim.authz.decisions.filter((d) => d.user === DEPLOYER.user && d.resource === "secrets").map((d) => `${d.verb} ${d.name} ${d.allowed}`);

describe("the analysis Secret under RBAC", () => {
  it("without the component, deploy is refused (exit 2, nothing changed), naming the Role, the verb and the Secret", async () => {
    h = await harness();
    const canaryBefore = imageOf(deployment(h.sim, "qualisys-api-canary"), "qualisys-api");
    const r = await bin(h, ["deploy", "--tag", "1.1.0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      "analysis.prometheus.auth.bearerToken: cannot read Secret production/prometheus-auth (HTTP 403: " +
        'secrets "prometheus-auth" is forbidden',
    );
    expect(r.stderr).toContain(
      ': the release-gate Role in namespace production needs verb "get" on secrets, resourceNames [prometheus-auth] ' +
        "(enable the kustomize component kubernetes/production/components/analysis-secret; docs/analysis.md); nothing was changed",
    );
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    expect(secretRequests(h)).toEqual(["get prometheus-auth false"]);
    expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBe(0);
    expect(imageOf(deployment(h.sim, "qualisys-api-canary"), "qualisys-api")).toBe(canaryBefore);
  }, 90_000);

  it("with the component, the deployer reads exactly that Secret, and the component grants nothing else", async () => {
    h = await harness([COMPONENT]);
    const analysis = h.env.config.analysis!;
    expect(await resolveAuthorization(analysis, { kube: h.env.kube, namespace: NS, env: {} })).toBe(`Bearer ${TOKEN}`);
    // Only the named Secret: another one is still refused.
    const other = {
      ...analysis,
      prometheus: { ...analysis.prometheus, auth: { bearerToken: { secret: { name: "other", key: "token" } } } },
    };
    await expect(resolveAuthorization(other, { kube: h.env.kube, namespace: NS, env: {} })).rejects.toThrow(/HTTP 403.*needs verb "get"/);
    expect(secretRequests(h)).toEqual(["get prometheus-auth true", "get other false"]);
    // The component's patch is one rule, and this use of it used all it grants.
    const patch = parse(readFileSync(`${COMPONENT}/kustomization.yaml`, "utf8")).patches[0].patch;
    const rules = (parse(patch) as Array<{ value: unknown }>).map((op) => op.value);
    const grants = grantsOf(stringify({ kind: "Role", metadata: { name: "release-gate" }, rules }));
    expect(grants.map((g) => `${g.verb} ${g.resource} ${g.name}`)).toEqual(["get secrets prometheus-auth"]);
    expect(
      unusedGrants(
        grants,
        h.sim.authz.decisions.filter((d) => d.user === DEPLOYER.user),
      ),
    ).toEqual([]);
  }, 90_000);
});
