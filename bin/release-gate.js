#!/usr/bin/env node
// The CLI is TypeScript run by Node 24's built-in type stripping: no build step, the same source Dagger runs.
// Node's on-disk compile cache (V8 code and the type-stripped sources) must be on before the first .ts file loads:
// it roughly halves start-up once warm, hence the dynamic import after it.
import { enableCompileCache } from "node:module";

enableCompileCache();
await import("../.dagger/src/cli.ts");
