import { describe, expect, it } from "vitest";
import { parseReleaseConfig } from "#src/config/load.ts";
import { placeholders, promDuration, renderQuery, templateValues } from "#src/analysis/template.ts";
import { readFileSync } from "node:fs";

const production = parseReleaseConfig(readFileSync("kubernetes/production/release.yaml", "utf8"));

describe("PromQL templating", () => {
  it("renders every placeholder for a service, route names included", () => {
    const api = production.services.find((s) => s.name === "qualisys-api")!;
    const v = templateValues(production, api, 90_000);
    expect(v).toEqual({
      namespace: "production",
      service: "qualisys-api",
      stableDeployment: "qualisys-api-stable",
      canaryDeployment: "qualisys-api-canary",
      stableService: "qualisys-api-stable",
      canaryService: "qualisys-api-canary",
      ingress: "production-ingress",
      canaryIngress: "production-ingress-canary",
      httpRoute: "qualisys-api",
      window: "90s",
    });
    expect(renderQuery('rate(x{namespace="{{namespace}}",svc="{{ canaryService }}"}[{{  window }}])', v)).toBe(
      'rate(x{namespace="production",svc="qualisys-api-canary"}[90s])',
    );
  });

  it("refuses to render a placeholder without a value, naming it", () => {
    expect(() => renderQuery("x{a='{{ httpRoute }}'}", { namespace: "n" })).toThrow("{{ httpRoute }}");
    expect(() => renderQuery("{{ nope }}", { namespace: "n" })).toThrow("{{ nope }}");
  });

  it("lists placeholders once each and writes durations as PromQL does", () => {
    expect(placeholders("{{a}} {{ b }} {{a}} { {c} }")).toEqual(["a", "b"]);
    expect([60_000, 3_600_000, 90_000, 1_500, 30_000].map(promDuration)).toEqual(["1m", "1h", "90s", "1500ms", "30s"]);
  });
});
