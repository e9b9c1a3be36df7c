#!/usr/bin/env node
// The CLI's entry point, and the only place that runs it: nothing under .dagger/src does anything when imported,
// because the Dagger runtime imports every file there before it calls a function.
import * as nodeModule from "node:module";
import { nodeVersionProblem } from "./node-version.js";

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  // Refused before anything ran: the same code as any other refusal.
  process.exit(2);
}

// Node's on-disk compile cache roughly halves start-up once warm; it must be on before the sources load.
nodeModule.enableCompileCache?.();
const { main } = await import("../.dagger/src/cli.ts");
// exitCode, not exit(): stdout must drain before the process ends (large --json reports through pipes).
process.exitCode = await main(process.argv);
