/**
 * Reading release.yaml: YAML parse, schema validation, and one error listing every wrong field by its path.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { UsageError } from "../errors.ts";
import { releaseConfigSchema, type ReleaseConfig } from "./schema.ts";

import { DEFAULT_CONFIG_PATH } from "./default-path.ts";

export { DEFAULT_CONFIG_PATH };
/** YAML aliases expanded in release.yaml at most (a real file uses none or a handful). */
const MAX_ALIAS_COUNT = 100;

export interface LoadedConfig {
  config: ReleaseConfig;
  /** Absolute path the config came from; smoke suite paths are relative to its folder. */
  path: string;
}

export async function loadReleaseConfig(path: string = DEFAULT_CONFIG_PATH): Promise<LoadedConfig> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (err) {
    throw new UsageError(
      `cannot read release config ${absolute}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; nothing was changed in the cluster`,
    );
  }
  const config = parseReleaseConfig(text, absolute);
  // Suite paths become absolute once, here, so nothing later depends on the working directory.
  for (const s of config.services) if (s.smoke.suite) s.smoke.suite = resolve(dirname(absolute), s.smoke.suite);
  return { config, path: absolute };
}

export function parseReleaseConfig(text: string, source = "release.yaml"): ReleaseConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new UsageError(`${source} is not valid YAML: ${doc.errors.map((e) => e.message).join("; ")}; nothing was changed in the cluster`);
  }
  let value: unknown;
  try {
    // An alias expanded too many times (a "billion laughs" file) is refused, not expanded.
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new UsageError(`${source} cannot be read: ${(err as Error).message}; nothing was changed in the cluster`);
  }
  const result = releaseConfigSchema.safeParse(value);
  if (!result.success) {
    throw new UsageError(`${source} is invalid; nothing was changed in the cluster:\n${formatIssues(result.error.issues)}`);
  }
  return result.data;
}

/** One line per wrong field: `services[0].stable.deployment: must be a Kubernetes name`. */
export function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `  ${formatPath(i.path) || "(top level)"}: ${i.message}`).join("\n");
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}
