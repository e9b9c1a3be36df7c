import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Deadlines, not goals: a test that hangs still fails, but one that loads the whole module (the Dagger runtime's
    // transpile) or starts several CLI processes may take over 30 s on a loaded 2-core machine, and must not fail.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Two cores here, but most tests wait on real processes, watches and observation windows rather than the CPU:
    // three files at a time kept them about 75 % busy (428 s, against 594 s with two). The suite also passes run
    // twice at once with this setting (six files on two cores), so a loaded machine is within what it tolerates.
    maxWorkers: 3,
  },
});
