/**
 * The Dagger TypeScript runtime imports every .ts file under .dagger/src before it calls any function
 * (`__dagger.entrypoint.ts` → the SDK's scan() → entrypoint/load.js). A file that does something on import (the CLI
 * once ran main() there, printed its usage and set exit code 2) breaks every `dagger call`. `dagger functions` does
 * not catch it: it introspects without importing. So: load the module exactly as the runtime does, in a child
 * process, and require silence and exit 0.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODULE_SRC, ROOT, runtimeLoad } from "./support/runtime-load.ts";

describe("loading .dagger/src as the Dagger runtime does", () => {
  // One load (each takes the runtime's whole transpile): with a function's arguments after the entrypoint, as the
  // runtime is started, so a file that reads process.argv or runs the CLI on import would show here.
  it("imports every file, the decorated index.ts included, whatever follows on the command line, and prints nothing, exits 0", async () => {
    const r = await runtimeLoad(MODULE_SRC, ["deploy", "--help"]);
    expect({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({
      stdout: "",
      stderr: "",
      exitCode: 0,
      timedOut: false,
    });
    // It did import them all: the SDK found the decorated class, which only the import of index.ts registers.
    expect(r.files).toEqual(expect.arrayContaining([join(MODULE_SRC, "index.ts"), join(MODULE_SRC, "cli.ts")]));
    expect(r.objects?.map((o) => o.name)).toEqual(["ReleaseGate"]);
  });

  describe("catches the defect it is for", () => {
    // A copy inside the repository, so its imports resolve against the same node_modules.
    const copy = mkdtempSync(join(ROOT, "node_modules/.cache-release-gate-src-"));
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it("a cli.ts that runs the CLI on import prints and fails", async () => {
      cpSync(MODULE_SRC, copy, { recursive: true });
      appendFileSync(join(copy, "cli.ts"), "\nprocess.exitCode = await main(process.argv);\n");
      const r = await runtimeLoad(copy);
      expect(r.stdout + r.stderr).toMatch(/release-gate/);
      expect(r.exitCode, r.stderr).not.toBe(0);
    });
  });
});
