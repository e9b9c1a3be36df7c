/**
 * A service's own smoke suite in a release (defect 1 of issue 9): without a token, the checks of ITS suite that
 * send one are skipped (never a check name the suite does not have), and a token release.yaml requires is
 * refused at preflight, before anything in the cluster changed, not discovered half-way through the release.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "#src/errors.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { DEPLOYMENTS, INGRESSES, NS, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A suite file next to the test's release.yaml (suite paths are relative to it). */
async function suiteFile(dir: string, name: string, checks: unknown[]): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, stringify({ name, checks }));
  return path;
}

const health = { name: "health", path: "/api/health", expect: { status: 200, json: [{ path: "status", equals: "ok" }] } };
const home = { name: "home", path: "/", expect: { bodyContains: "Sign In" } };
const me = { name: "me", path: "/api/v1/user/me", auth: "bearer", expect: { json: [{ path: "id", notNull: true }] } };

const production = (h: Harness) => JSON.stringify([DEPLOYMENTS, INGRESSES].map((t) => h.sim.store.list(t, NS).items));

describe("a service with its own smoke suite", () => {
  it("without a token: a suite without user-me releases (it used to roll back every release), its token checks skipped by name", async () => {
    // release.yaml names each service's suite, relative to itself; the files are read at preflight.
    h = await startHarness({ config: (d) => ((d.services[0].smoke.suite = "billing.yaml"), (d.services[1].smoke.suite = "web.yaml")) });
    const harness = h;
    await suiteFile(harness.dir, "billing", [health, home]);
    await suiteFile(harness.dir, "web", [health, me]);
    const record = await deploy(harness.env, { tag: "1.1.0" });
    expect(record.outcome).toBe("succeeded");
    // The token check of web's suite ("me") was skipped and said so; billing's suite had none to skip.
    expect(harness.log).toContainEqual(
      expect.stringMatching(/^warn no smoke-test token .*checks that send one are skipped \(qualisys-web: me\)$/),
    );
    const checks = record.steps[0]!.smoke.map((s) => s.checks.map((c) => c.name).join(","));
    expect(checks).toEqual(expect.arrayContaining(["health,home", "health"]));
    await expectResting(harness, "1.1.0", "succeeded");
    expectInvariants(harness);
  });

  it("refuses at preflight, nothing changed, when release.yaml requires the token, or when every check of a suite needs it", async () => {
    h = await startHarness({ config: (d) => (d.smoke.requireToken = true) });
    const before = production(h);
    const required = await deploy(h.env, { tag: "1.1.0" }).catch((e: unknown) => e);
    expect(required).toBeInstanceOf(UsageError);
    expect((required as Error).message).toMatch(
      /no smoke-test token: qualisys-api's suite qualisys has checks that send one \(user-me\) and release\.yaml sets smoke\.requireToken.*nothing was changed/,
    );
    h.env.config.smoke.requireToken = false;
    h.env.config.services[0]!.smoke.url = "http://api.qualisys.io"; // no TLS check left either
    h.env.config.services[0]!.smoke.suite = await suiteFile(h.dir, "only-me", [me]);
    const nothingLeft = await deploy(h.env, { tag: "1.1.0" }).catch((e: unknown) => e);
    expect(nothingLeft).toBeInstanceOf(UsageError);
    expect((nothingLeft as Error).message).toMatch(
      /every check of qualisys-api's suite only-me sends one \(me\), so nothing would be tested/,
    );
    expect(production(h)).toBe(before);
    // With the token, the same suite runs its bearer check and the release goes through.
    const record = await deploy({ ...h.env, smokeToken: "s3cret-token" }, { tag: "1.1.0" });
    expect(record.steps[0]!.smoke.find((s) => s.url === "http://api.qualisys.io")?.checks.map((c) => c.name)).toEqual(["me"]);
    await expectResting(h, "1.1.0", "succeeded");
  });
});
