/**
 * Stands in for the Dagger TypeScript runtime's `__dagger.entrypoint.ts` (sdk/typescript/runtime/tsutils/bin in
 * dagger v0.21.8), run the way the runtime runs it: `tsx --no-deprecation --tsconfig <module>/tsconfig.json <this>`,
 * with no other argument. Like the runtime it lists every .ts/.mts file under the module's src, adds the generated
 * client (`client.gen.ts`), and hands the list to the SDK's own `scan()`, which imports every file through
 * `entrypoint/load.js` (that is what runs decorators, and any import side effect) before it introspects them. It
 * prints nothing of its own; the scan result goes to the file named by SCAN_OUT, as JSON.
 *
 * Inputs come from the environment, so the argv stays the runtime's: MODULE_SRC (the module's src directory),
 * CLIENT_GEN (the client.gen.ts to add), SDK_DIST (the pinned @dagger.io/dagger's dist/src), SCAN_OUT.
 */
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { pathToFileURL } from "node:url";

const { MODULE_SRC, CLIENT_GEN, SDK_DIST, SCAN_OUT } = process.env;
if (!MODULE_SRC || !CLIENT_GEN || !SDK_DIST || !SCAN_OUT) throw new Error("MODULE_SRC, CLIENT_GEN, SDK_DIST and SCAN_OUT are required");

/** The runtime's listTsFilesInModule: every .ts/.mts file, depth first, the generated client last. */
function listTsFiles(dir: string): string[] {
  return readdirSync(dir)
    .map((file) => {
      const path = join(dir, file);
      if (statSync(path).isDirectory()) return listTsFiles(path);
      return [".ts", ".mts"].includes(extname(path)) ? [path] : [];
    })
    .reduce((p, c) => [...c, ...p], [] as string[]);
}

type Scan = (files: string[], moduleName: string, loadModule?: boolean) => Promise<unknown>;
const { scan } = (await import(pathToFileURL(join(SDK_DIST, "module/introspector/index.js")).href)) as { scan: Scan };

const files = [...listTsFiles(MODULE_SRC), CLIENT_GEN];
const module = (await scan(files, "release-gate")) as { objects: Record<string, ScannedObject> };

interface ScannedArg {
  name: string;
  description?: string;
  type?: { kind: string; name?: string; typeDef?: unknown };
  isOptional: boolean;
  isNullable: boolean;
  defaultValue?: unknown;
  defaultPath?: string;
  ignore?: string[];
}
interface ScannedFunction {
  name: string;
  description?: string;
  cache?: string;
  arguments: Record<string, ScannedArg>;
  returnType?: unknown;
}
interface ScannedObject {
  name: string;
  description?: string;
  _constructor?: { arguments: Record<string, ScannedArg> };
  methods: Record<string, ScannedFunction>;
}

const args = (a: Record<string, ScannedArg>) =>
  Object.values(a).map((x) => ({
    name: x.name,
    description: x.description ?? "",
    type: x.type,
    isOptional: x.isOptional,
    isNullable: x.isNullable,
    defaultValue: x.defaultValue,
    defaultPath: x.defaultPath,
    ignore: x.ignore,
  }));

const out = {
  files,
  objects: Object.values(module.objects).map((o) => ({
    name: o.name,
    description: o.description ?? "",
    constructor: args(o._constructor?.arguments ?? {}),
    functions: Object.values(o.methods).map((f) => ({
      name: f.name,
      description: f.description ?? "",
      cache: f.cache,
      returnType: f.returnType,
      arguments: args(f.arguments),
    })),
  })),
};
writeFileSync(SCAN_OUT, JSON.stringify(out, null, 2));
