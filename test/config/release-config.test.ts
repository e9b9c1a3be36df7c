import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { loadReleaseConfig, parseReleaseConfig } from "#src/config/load.ts";
import { UsageError } from "#src/errors.ts";
import { routerInputs } from "#src/traffic/routing.ts";

const productionYaml = readFileSync("kubernetes/production/release.yaml", "utf8");

function withChange(change: (doc: Record<string, any>) => void): string {
  const doc = parse(productionYaml);
  change(doc);
  return stringify(doc);
}

function errorOf(text: string): UsageError {
  try {
    parseReleaseConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error("expected the config to be refused");
}

describe("release.yaml", () => {
  it("loads the production file with QualiSys's two services, phases 10 → 50 → 100 and a 10 min budget", async () => {
    const { config } = await loadReleaseConfig("kubernetes/production/release.yaml");
    expect(config.namespace).toBe("production");
    expect(config.services.map((s) => s.name)).toEqual(["qualisys-api", "qualisys-web"]);
    expect(config.phases.map((p) => p.weight)).toEqual([10, 50, 100]);
    expect(config.phases[0].observe).toBe(120_000);
    expect(config.budget).toBe(600_000);
    expect(config.router.kind).toBe("ingress-nginx");
  });

  it("fills defaults for everything optional", () => {
    const cfg = parseReleaseConfig(
      stringify({
        namespace: "ns",
        router: { kind: "replicas" },
        services: [
          {
            name: "a",
            container: "a",
            stable: { deployment: "a", service: "a" },
            canary: { deployment: "a-c", service: "a-c" },
            smoke: { url: "http://a.test" },
          },
        ],
      }),
    );
    expect(cfg.phases.map((p) => [p.weight, p.observe])).toEqual([
      [10, 120_000],
      [50, 45_000],
      [100, 30_000],
    ]);
    expect(cfg.deadlines.canaryAvailable).toBe(45_000);
    expect(cfg.lock.ttl).toBe(900_000);
  });

  it("refuses weights that do not rise to 100, naming each wrong phase", () => {
    const err = errorOf(withChange((d) => (d.phases = [{ weight: 50 }, { weight: 10 }, { weight: 90 }])));
    expect(err.message).toContain("phases[1].weight: weights must rise: 10 after 50");
    expect(err.message).toContain("phases[2].weight: the last phase must reach 100 (it is 90)");
  });

  it("refuses a bad duration, an unknown router and a misspelt field with their paths", () => {
    const err = errorOf(
      withChange((d) => {
        d.phases[0].observe = "two minutes";
        d.router.kind = "istio";
        d.services[1].contianer = "x";
      }),
    );
    expect(err.message).toMatch(/phases\[0\]\.observe: "two minutes" is not a duration/);
    expect(err.message).toMatch(/router\.kind: /);
    expect(err.message).toMatch(/services\[1\]: .*contianer/);
    expect(err.exitCode).toBe(2);
  });

  it("gateway-api ruleIndex: omitted means every rule sending to stable (no default of 0); given, only that rule", () => {
    const gateway = (d: Record<string, any>) => (d.router.kind = "gateway-api");
    const all = parseReleaseConfig(withChange(gateway));
    expect(all.services[0].route.ruleIndex).toBeUndefined();
    expect(routerInputs(all).services.every((s) => !("ruleIndex" in s))).toBe(true);
    const one = parseReleaseConfig(
      withChange((d) => {
        gateway(d);
        d.services[0].route.ruleIndex = 1;
      }),
    );
    expect(routerInputs(one).services.map((s) => s.ruleIndex)).toEqual([1, undefined]);
    // A service without any route block gets none either.
    const bare = parseReleaseConfig(
      withChange((d) => {
        d.router.kind = "replicas";
        delete d.services[0].route;
      }),
    );
    expect(bare.services[0].route).toEqual({});
    expect(
      errorOf(
        withChange((d) => {
          gateway(d);
          d.services[0].route.ruleIndex = -1;
        }),
      ).message,
    ).toMatch(/services\[0\]\.route\.ruleIndex/);
  });

  it("requires the route object each router needs", () => {
    const err = errorOf(
      withChange((d) => {
        d.router.kind = "gateway-api";
        delete d.services[0].route.httpRoute;
      }),
    );
    expect(err.message).toContain("services[0].route.httpRoute: router gateway-api needs the HTTPRoute's name");
  });

  it("refuses a duplicate service and a canary that is the stable Deployment", () => {
    const err = errorOf(
      withChange((d) => {
        d.services[1].name = "qualisys-api";
        d.services[0].canary.deployment = "qualisys-api-stable";
      }),
    );
    expect(err.message).toContain('services[1].name: service "qualisys-api" is listed twice');
    expect(err.message).toContain("services[0].canary.deployment: the canary Deployment must differ");
  });

  it("owns the router-input rules the routers used to check again: the canary Service, the header (one rule for every header name)", () => {
    const err = errorOf(
      withChange((d) => {
        d.services[0].canary.service = d.services[0].stable.service;
        d.router.canaryHeader = { name: "X Canary", value: "a\r\nb" };
        d.observedSplit = { versionHeader: "X-App Version" };
      }),
    );
    expect(err.message).toContain(
      "services[0].canary.service: the canary Service must differ from the stable one for router ingress-nginx",
    );
    expect(err.message).toMatch(/router\.canaryHeader\.name: must be an HTTP header name/);
    expect(err.message).toMatch(/router\.canaryHeader\.value: must be a non-empty value on one line/);
    expect(err.message).toMatch(/observedSplit\.versionHeader: must be an HTTP header name/);
    // RFC 9110 token characters are accepted (the old rule refused "X_Canary" and "X.Canary").
    const ok = parseReleaseConfig(withChange((d) => (d.router.canaryHeader = { name: "X_Canary.v2", value: "always" })));
    expect(ok.router.canaryHeader.name).toBe("X_Canary.v2");
    // With no router, one Service over both tracks is the point.
    expect(() =>
      parseReleaseConfig(withChange((d) => ((d.router.kind = "replicas"), (d.services[0].canary.service = d.services[0].stable.service)))),
    ).not.toThrow();
  });

  it("gives the observed split a sampling deadline and the smoke token a requirement switch, both with defaults", () => {
    const cfg = parseReleaseConfig(withChange((doc) => delete doc.observedSplit.deadline));
    expect(cfg.observedSplit.deadline).toBe(10_000);
    expect(cfg.smoke.requireToken).toBe(false);
    // Production sets a shorter one, so the plan fits the budget with metric analysis on.
    expect(parseReleaseConfig(productionYaml).observedSplit.deadline).toBe(6_000);
  });

  it("refuses YAML that does not parse and a file that does not exist", async () => {
    expect(errorOf("namespace: [unclosed").message).toMatch(/not valid YAML/);
    await expect(loadReleaseConfig("/nonexistent/release.yaml")).rejects.toThrow(/cannot read release config .*ENOENT/);
  });
});
