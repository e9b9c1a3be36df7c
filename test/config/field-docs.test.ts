/** kubernetes/production/README.md documents every field of release.yaml, and nothing that is not one. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { releaseJsonSchema } from "#src/config/json-schema.ts";

const README = "kubernetes/production/README.md";
const SECTION = "## release.yaml, field by field";

/** Every field path of the schema, as the README writes them: `services[].route.ruleIndex`. */
function schemaFields(node: Record<string, any>, path = ""): string[] {
  const props = Object.entries<Record<string, any>>(node.properties ?? {}).flatMap(([key, child]) => {
    const p = path ? `${path}.${key}` : key;
    return [p, ...schemaFields(child, p)];
  });
  return [...props, ...(node.items ? schemaFields(node.items, `${path}[]`) : [])];
}

/** The first column of every table row in the section: the documented fields. */
function documentedFields(): string[] {
  const text = readFileSync(new URL(`../../${README}`, import.meta.url), "utf8");
  const start = text.indexOf(SECTION);
  expect(start, `${README} has no "${SECTION}" section`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf("\n## ", start + SECTION.length);
  const section = text.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

describe(`${README}, "${SECTION}"`, () => {
  const fields = schemaFields(releaseJsonSchema());

  it("documents every field of the schema, services[].image, smoke.suite and route.ruleIndex included", () => {
    expect(fields).toEqual(expect.arrayContaining(["services[].image", "services[].smoke.suite", "services[].route.ruleIndex"]));
    const missing = fields.filter((f) => !documentedFields().includes(f));
    expect(missing, `add a row for each of these fields to ${README}, section "${SECTION}"`).toEqual([]);
  });

  it("documents no field the schema does not have (a renamed or removed field leaves no stale row)", () => {
    const stale = documentedFields().filter((f) => !fields.includes(f));
    expect(stale, `these rows of ${README} name no field of .dagger/src/config/schema.ts`).toEqual([]);
  });

  it("documents each field once", () => {
    const seen = documentedFields();
    expect(seen.filter((f, i) => seen.indexOf(f) !== i)).toEqual([]);
  });
});
