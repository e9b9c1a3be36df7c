#!/usr/bin/env node
// The CLI is TypeScript run by Node 24's built-in type stripping: no build step, the same source Dagger runs.
import "../.dagger/src/cli.ts";
