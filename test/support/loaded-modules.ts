/**
 * `node --import test/support/loaded-modules.ts …`: records the URL of every module the process loads and writes
 * them, one a line, to the file named by LOADED_MODULES_LOG when it exits. Tests use it to prove that a command
 * loads only what it uses (start-up time itself is measured in bench/startup.bench.ts, never asserted).
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on("exit", () => {
  if (process.env.LOADED_MODULES_LOG) writeFileSync(process.env.LOADED_MODULES_LOG, [...loaded].join("\n") + "\n");
});
