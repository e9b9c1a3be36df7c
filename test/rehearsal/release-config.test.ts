/**
 * The release.yaml a rehearsal releases with is production's, derived: same services, weights, deadlines and
 * checks; only the router, local URLs, observation windows and the cluster pin differ, and deploy's own schema
 * accepts it.
 */
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { parseReleaseConfig } from "#src/config/load.ts";
import { localHost, rehearsalReleaseConfig, REHEARSAL_OBSERVE } from "#src/rehearsal/release-config.ts";

const PRODUCTION = readFileSync(new URL("../../kubernetes/production/release.yaml", import.meta.url), "utf8");

describe("the rehearsal's release.yaml", () => {
  it.each(["ingress-nginx", "gateway-api"] as const)("for %s: production's, with the router, local URLs and short windows", (router) => {
    const r = rehearsalReleaseConfig(PRODUCTION, router);
    const local = parseReleaseConfig(r.text);
    const prod = parseReleaseConfig(PRODUCTION);
    expect(local.router.kind).toBe(router);
    expect(local.router.canaryHeader).toEqual(prod.router.canaryHeader);
    expect(local.namespace).toBe(prod.namespace);
    expect(local.services.map((s) => ({ ...s, smoke: undefined }))).toEqual(prod.services.map((s) => ({ ...s, smoke: undefined })));
    expect(r.urls).toEqual({ "qualisys-api": "http://api.qualisys.localhost", "qualisys-web": "http://app.qualisys.localhost" });
    expect(local.services.map((s) => s.smoke.url)).toEqual(Object.values(r.urls));
    expect(local.phases.map((p) => p.weight)).toEqual(prod.phases.map((p) => p.weight));
    expect(parse(r.text).phases.every((p: { observe: string }) => p.observe === REHEARSAL_OBSERVE)).toBe(true);
    expect(local.deadlines).toEqual(prod.deadlines);
    expect(local.health).toEqual(prod.health);
    expect(local.observedSplit).toEqual(prod.observedSplit);
  });

  it("drops production's cluster pin: a kind cluster is not the pinned one", () => {
    const pinned = stringify({ ...parse(PRODUCTION), cluster: { server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com" } });
    expect(parseReleaseConfig(pinned).cluster).toBeDefined();
    expect(parseReleaseConfig(rehearsalReleaseConfig(pinned, "ingress-nginx").text).cluster).toBeUndefined();
  });

  it("follows production's phases, whatever they are", () => {
    const custom = stringify({
      ...parse(PRODUCTION),
      phases: [
        { weight: 5, observe: "5m" },
        { weight: 25, observe: "1m" },
        { weight: 100, observe: "1m" },
      ],
    });
    expect(parseReleaseConfig(rehearsalReleaseConfig(custom, "gateway-api").text).phases.map((p) => p.weight)).toEqual([5, 25, 100]);
  });

  it("refuses a production config deploy itself would refuse, with exit 2", () => {
    expect(() => rehearsalReleaseConfig("namespace: production\n", "ingress-nginx")).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it.each([
    ["app.qualisys.io", "app.qualisys.localhost"],
    ["API.Example.COM.", "api.example.localhost"],
    ["intranet", "intranet.localhost"],
  ])("%s is rehearsed as %s", (host, local) => {
    expect(localHost(host)).toBe(local);
  });
});
