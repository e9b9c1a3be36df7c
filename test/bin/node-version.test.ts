/**
 * The bin refuses to start on Node < 24 with one line that says why and what to do (it used to die with
 * ERR_UNKNOWN_FILE_EXTENSION on the first .ts import). Proven on a real older Node when the machine has one
 * (Debian's Node 20 here), and on Node 24 told it is older, which runs the same check everywhere.
 */
import { execFileSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { MIN_NODE_MAJOR, nodeVersionProblem } from "../../bin/node-version.js";
import { BIN } from "../support/run-cli.ts";

/** A `node` on PATH older than 24 that is not the project's own (npm puts node_modules/.bin first). */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    try {
      const version = execFileSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
      if (Number(version.split(".")[0]) < MIN_NODE_MAJOR) return candidate;
    } catch {
      // not there, or not runnable
    }
  }
  return undefined;
}

function expectRefusal(r: { exitCode?: number; stdout: unknown; stderr: unknown }, version: string) {
  expect(r.exitCode).toBe(2);
  expect(String(r.stdout)).toBe("");
  const lines = String(r.stderr).trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`release-gate needs Node.js 24 or newer`);
  expect(lines[0]).toContain(`this is Node ${version}`);
  expect(lines[0]).toContain("npx --no -- release-gate");
  expect(lines[0]).not.toContain("ERR_UNKNOWN_FILE_EXTENSION");
}

describe("the bin's Node version check", () => {
  it.each([
    ["20.20.2", false],
    ["22.12.0", false],
    ["23.11.1", false],
    ["24.0.0", true],
    ["25.1.0", true],
  ])("Node %s runs: %s", (version, ok) => {
    expect(nodeVersionProblem(version) === undefined).toBe(ok);
  });

  it("refuses on Node 24 told it is Node 20, before loading any TypeScript", async () => {
    const fake = 'Object.defineProperty(process.versions, "node", { value: "20.11.1" });';
    const r = await execa(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(fake)}`, BIN, "status"], {
      reject: false,
      env: { PATH: process.env.PATH ?? "" },
      extendEnv: false,
    });
    expectRefusal(r, "20.11.1");
  });

  it("refuses on a real older Node, when this machine has one (Debian's Node 20 here)", async () => {
    const node = olderNode();
    // The machines this project runs on have Debian's Node 20 next to the pinned Node 24; say so if one does not.
    expect(node, "no Node < 24 on PATH to run the bin with").toBeDefined();
    const version = execFileSync(node!, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
    const r = await execa(node!, [BIN, "--help"], { reject: false, env: { PATH: process.env.PATH ?? "" }, extendEnv: false });
    expectRefusal(r, version);
  });

  it("lets Node 24 through: the CLI answers", async () => {
    const r = await execa(process.execPath, [BIN, "--help"], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toContain("Usage: release-gate");
  });
});
