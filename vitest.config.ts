import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores here: the simulator and kubectl are real processes, so keep file parallelism modest.
    maxWorkers: 2,
  },
});
