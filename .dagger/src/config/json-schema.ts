/**
 * The JSON Schema of release.yaml, generated from the zod schema (config/schema.ts) so editors complete and
 * validate the file (`# yaml-language-server: $schema=./release.schema.json`). It describes what is written in
 * the file (durations as text), not what the pipeline reads after parsing. Cross-field rules (weights rise to
 * 100, one router name per kind) stay zod's: JSON Schema cannot say them.
 */
import { z } from "zod";
import { DURATION } from "./duration.ts";
import { duration, releaseConfigSchema } from "./schema.ts";

/** Where the generated schema is checked in, relative to the repository. */
export const RELEASE_SCHEMA_PATH = "kubernetes/production/release.schema.json";
/** The command that regenerates it. */
export const REGENERATE_COMMAND = "npm run schema";

export function releaseJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(releaseConfigSchema, {
    io: "input",
    // draft-07: what yaml-language-server (VS Code, IntelliJ, Neovim) validates completely.
    target: "draft-7",
    override: (ctx) => {
      // Durations are text parsed by parseDuration: give editors its grammar.
      if (ctx.zodSchema === duration.in) {
        ctx.jsonSchema.pattern = DURATION.source;
        ctx.jsonSchema.examples = ["2m", "45s", "1m30s", "500ms"];
      }
    },
  });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: "release-gate release.yaml",
    description:
      `What a release touches and how it moves. ` +
      `Generated from .dagger/src/config/schema.ts by \`${REGENERATE_COMMAND}\`: do not edit. Fields: kubernetes/production/README.md.`,
    ...rest,
  };
}

/** The file's text: stable key order, two-space indentation, a final newline (what Prettier would leave). */
export function releaseJsonSchemaText(): string {
  return JSON.stringify(releaseJsonSchema(), null, 2) + "\n";
}
