/**
 * Runs test/dagger/support/runtime-entrypoint.ts the way Dagger 0.21's TypeScript runtime runs its entrypoint: tsx
 * 4.15.6 (the version the engine installs), `--no-deprecation --tsconfig <module>/tsconfig.json`, the entrypoint
 * inside `<module>/src/` next to a copy of the module's package.json ("type": "module"), and no argument after it.
 * The SDK's own scan() then imports every file (entrypoint/load.js) and introspects them, with the generated client
 * stood in for by the pinned SDK's client.gen.d.ts copied to client.gen.ts (the name the introspector looks for).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const MODULE_SRC = join(ROOT, ".dagger/src");
const SDK_DIST = join(ROOT, "node_modules/@dagger.io/dagger/dist/src");
const TSX_CLI = join(createRequire(import.meta.url).resolve("tsx/package.json"), "../dist/cli.mjs");

export interface ScannedArg {
  name: string;
  description: string;
  type: { kind: string; name?: string; typeDef?: { kind: string; name?: string } };
  isOptional: boolean;
  isNullable: boolean;
  defaultValue?: unknown;
  defaultPath?: string;
  ignore?: string[];
}
export interface ScannedFunction {
  name: string;
  description: string;
  cache?: string;
  returnType?: { kind: string; name?: string };
  arguments: ScannedArg[];
}
export interface ScannedObject {
  name: string;
  description: string;
  constructor: ScannedArg[];
  functions: ScannedFunction[];
}
export interface RuntimeLoad {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The scan, when the entrypoint got that far. */
  objects?: ScannedObject[];
  files?: string[];
}

/** Loads the module source in `moduleSrc` as the runtime does; `argv` is appended only to prove argv is ignored. */
export async function runtimeLoad(moduleSrc = MODULE_SRC, extraArgv: string[] = []): Promise<RuntimeLoad> {
  const dir = mkdtempSync(join(ROOT, "node_modules/.cache-release-gate-runtime-"));
  try {
    mkdirSync(join(dir, "src"));
    mkdirSync(join(dir, "sdk"));
    copyFileSync(join(ROOT, ".dagger/package.json"), join(dir, "package.json"));
    copyFileSync(join(SDK_DIST, "api/client.gen.d.ts"), join(dir, "sdk/client.gen.ts"));
    const entrypoint = join(dir, "src/__dagger.entrypoint.ts");
    copyFileSync(join(ROOT, "test/dagger/support/runtime-entrypoint.ts"), entrypoint);
    const scanOut = join(dir, "scan.json");
    const r = await execa(
      process.execPath,
      [TSX_CLI, "--no-deprecation", "--tsconfig", join(ROOT, ".dagger/tsconfig.json"), entrypoint, ...extraArgv],
      {
        reject: false,
        extendEnv: false,
        // No credentials, no kubeconfig: an import that reached for either would have to do so visibly.
        env: {
          PATH: process.env.PATH ?? "",
          MODULE_SRC: moduleSrc,
          CLIENT_GEN: join(dir, "sdk/client.gen.ts"),
          SDK_DIST,
          SCAN_OUT: scanOut,
          AWS_EC2_METADATA_DISABLED: "true",
        },
        cwd: dir,
        // Generous: the machine is shared. A file that keeps the process alive (a timer, a server) shows as timedOut.
        timeout: 120_000,
      },
    );
    let scan: { objects: ScannedObject[]; files: string[] } | undefined;
    try {
      scan = JSON.parse(readFileSync(scanOut, "utf8"));
    } catch {
      scan = undefined;
    }
    return {
      exitCode: r.exitCode,
      stdout: String(r.stdout),
      stderr: String(r.stderr),
      timedOut: r.timedOut,
      ...(scan ? { objects: scan.objects, files: scan.files } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
