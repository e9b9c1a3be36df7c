#!/usr/bin/env node
// The kind rehearsal's story, run inside the toolbox by `dagger call rehearse` (with the Docker socket, kind and the
// host services it binds): `node bin/rehearsal.js SETTINGS.json`. Like release-gate.js, the only place it runs:
// nothing under .dagger/src does anything when imported.
import { nodeVersionProblem } from "./node-version.js";

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
const { main } = await import("../.dagger/src/rehearsal/main.ts");
process.exitCode = await main(process.argv);
