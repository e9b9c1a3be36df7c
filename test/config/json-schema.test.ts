/**
 * kubernetes/production/release.schema.json: generated from the zod schema, checked in, referenced by
 * release.yaml for editors, and in agreement with zod on what it can express.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { REGENERATE_COMMAND, RELEASE_SCHEMA_PATH, releaseJsonSchema, releaseJsonSchemaText } from "#src/config/json-schema.ts";
import { parseReleaseConfig } from "#src/config/load.ts";

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), "utf8");
const releaseYaml = read("kubernetes/production/release.yaml");

function validator() {
  // Formats (uri) are zod's to check; the structure is what editors need.
  const ajv = new Ajv({ strict: true, allErrors: true, validateFormats: false });
  return ajv.compile(releaseJsonSchema());
}

describe("release.schema.json", () => {
  it("is the schema generated from config/schema.ts (after changing the zod schema, regenerate it)", () => {
    expect(
      read(RELEASE_SCHEMA_PATH),
      `${RELEASE_SCHEMA_PATH} is out of date with .dagger/src/config/schema.ts: run \`${REGENERATE_COMMAND}\` and commit ${RELEASE_SCHEMA_PATH}`,
    ).toBe(releaseJsonSchemaText());
    expect(JSON.parse(read("package.json")).scripts.schema).toBe("node scripts/release-schema.ts");
  });

  it("is referenced by release.yaml for editors (yaml-language-server), by a path that exists", () => {
    const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(releaseYaml)?.[1];
    expect(ref).toBe("./release.schema.json");
    expect(() => read(`kubernetes/production/${ref}`)).not.toThrow();
  });

  it("is a valid draft-07 schema that accepts the shipped release.yaml and variants zod accepts", () => {
    const validate = validator();
    const doc = parse(releaseYaml);
    const variants = [
      doc,
      { ...doc, router: { kind: "gateway-api" } },
      { namespace: "ns", router: { kind: "replicas" }, services: doc.services },
      { ...doc, phases: [{ weight: 5, observe: "1m30s" }, { weight: 100 }], deadlines: { smoke: "5500ms" }, budget: "1h" },
      { ...doc, observedSplit: { samples: 1000, falseAlarmRate: 0.001, tolerancePoints: 0 } },
    ];
    for (const v of variants) {
      expect(() => parseReleaseConfig(JSON.stringify(v))).not.toThrow();
      expect(validate(v), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it.each([
    ["an unknown field", (d: Record<string, any>) => (d.phase = [])],
    ["the old observedSplit.tolerance", (d: Record<string, any>) => (d.observedSplit = { tolerance: 15 })],
    ["an unknown router", (d: Record<string, any>) => (d.router.kind = "istio")],
    ["a weight of 0", (d: Record<string, any>) => (d.phases[0].weight = 0)],
    ["a duration in words", (d: Record<string, any>) => (d.phases[0].observe = "2 minutes")],
    ["a number where a duration is text", (d: Record<string, any>) => (d.budget = 600)],
    ["too few samples", (d: Record<string, any>) => (d.observedSplit.samples = 5)],
    ["a false-alarm rate of 0", (d: Record<string, any>) => (d.observedSplit.falseAlarmRate = 0)],
    ["a negative ruleIndex", (d: Record<string, any>) => (d.services[0].route.ruleIndex = -1)],
    ["a service without smoke.url", (d: Record<string, any>) => delete d.services[0].smoke.url],
    ["a Deployment name that is not a Kubernetes name", (d: Record<string, any>) => (d.services[0].stable.deployment = "Stable_API")],
  ])("refuses %s, as zod does", (_label, change) => {
    const doc = parse(releaseYaml);
    change(doc);
    expect(() => parseReleaseConfig(JSON.stringify(doc))).toThrow();
    expect(validator()(doc)).toBe(false);
  });
});
