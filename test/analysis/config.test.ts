/** The analysis: section of release.yaml: defaults, the shipped examples, and precise refusals. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { parseReleaseConfig } from "#src/config/load.ts";
import { UsageError } from "#src/errors.ts";

const production = parse(readFileSync("kubernetes/production/release.yaml", "utf8")) as Record<string, unknown>;
export const example = (name: "ingress-nginx" | "envoy-gateway") =>
  (parse(readFileSync(`kubernetes/production/analysis-examples/${name}.yaml`, "utf8")) as { analysis: Record<string, any> }).analysis;

function load(analysis: unknown, patch: (doc: Record<string, any>) => void = () => {}) {
  const doc = structuredClone(production) as Record<string, any>;
  doc.analysis = analysis;
  patch(doc);
  return parseReleaseConfig(stringify(doc));
}

function refusal(analysis: unknown, patch?: (doc: Record<string, any>) => void): string {
  try {
    load(analysis, patch);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

const minimal = {
  prometheus: { url: "http://prometheus:9090" },
  checks: [{ name: "errors", query: "vector(0)", threshold: { max: 0.01 } }],
};

describe("release.yaml analysis:", () => {
  it("is optional, and filled with defaults when present", () => {
    expect(parseReleaseConfig(stringify(production)).analysis).toBeUndefined();
    expect(load(minimal).analysis).toEqual({
      prometheus: { url: "http://prometheus:9090", timeout: 5000, retries: 2 },
      interval: 30_000,
      window: 60_000,
      checks: [{ name: "errors", query: "vector(0)", threshold: { max: 0.01 }, allowedFailures: 1, noData: "fail" }],
    });
  });

  it("accepts both shipped examples with the production release.yaml", () => {
    for (const name of ["ingress-nginx", "envoy-gateway"] as const) {
      const a = load(example(name)).analysis!;
      expect(a.checks.length).toBeGreaterThanOrEqual(2);
      expect(a.interval).toBe(30_000);
    }
  });

  it("refuses credentials written into release.yaml, naming the field", () => {
    expect(refusal({ ...minimal, prometheus: { url: "https://user:pw@prometheus:9090" } })).toContain(
      "analysis.prometheus.url: must not carry credentials: use prometheus.auth",
    );
    expect(refusal({ ...minimal, prometheus: { url: "http://p", auth: { bearerToken: "abc.def-123" } } })).toMatch(
      /analysis\.prometheus\.auth\.bearerToken: must be \{ env: VARIABLE_NAME \} or \{ secret: \{ name, key \} \}/,
    );
    expect(refusal({ ...minimal, prometheus: { url: "http://p", auth: { bearerToken: { env: "eyJhbGciOi.token" } } } })).toContain(
      "must be an environment variable NAME, not its value",
    );
  });

  it("refuses a relative threshold without stableQuery, an unknown placeholder and a missing route", () => {
    const relative = { ...minimal, checks: [{ name: "p99", query: "vector(1)", threshold: { maxAboveStable: 0.25 } }] };
    expect(refusal(relative)).toContain("analysis.checks[0].stableQuery: threshold maxAboveStable compares with stable: needs stableQuery");
    const typo = { ...minimal, checks: [{ name: "e", query: 'x{ns="{{ namespce }}"}', threshold: { max: 1 } }] };
    expect(refusal(typo)).toContain("analysis.checks[0].query: unknown placeholder {{ namespce }}");
    const route = { ...minimal, checks: [{ name: "e", query: 'x{route="{{ httpRoute }}"}', threshold: { max: 1 } }] };
    expect(refusal(route, (d) => delete d.services[1].route.httpRoute)).toContain(
      "analysis.checks[0].query: uses {{ httpRoute }}, but qualisys-web has no route.httpRoute",
    );
    // Limited to a service that has the route: accepted.
    expect(
      load({ ...route, checks: [{ ...route.checks[0], services: ["qualisys-api"] }] }, (d) => delete d.services[1].route.httpRoute),
    ).toBeTruthy();
  });

  it("refuses an empty threshold, duplicate checks, unknown services and a bad no-data rule", () => {
    expect(refusal({ ...minimal, checks: [{ name: "e", query: "q", threshold: {} }] })).toContain(
      "analysis.checks[0].threshold: needs at least one of max, min, maxAboveStable, maxBelowStable, maxRatioToStable",
    );
    expect(refusal({ ...minimal, checks: [minimal.checks[0], minimal.checks[0]] })).toContain(
      'analysis.checks[1].name: check "errors" is listed twice',
    );
    expect(refusal({ ...minimal, checks: [{ ...minimal.checks[0], services: ["billing"] }] })).toContain(
      'analysis.checks[0].services[0]: no service "billing" in services',
    );
    expect(refusal({ ...minimal, checks: [{ ...minimal.checks[0], noData: "ignore" }] })).toContain("analysis.checks[0].noData");
    expect(refusal({ ...minimal, window: "10" })).toContain('analysis.window: "10" is not a duration');
  });
});
