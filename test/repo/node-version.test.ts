/**
 * The project runs on Node 24 (what Dagger's TypeScript runtime runs), supplied by the node@24 devDependency.
 * That package only has a binary if its install script ran (package.json allowScripts.node: true); without it
 * npm scripts silently fall back to the machine's Node, and the tests would prove nothing about production.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

describe("Node runtime", () => {
  it("runs the tests on Node 24 or newer", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(24);
  });

  it("lets the node@24 package install its binary", () => {
    expect(pkg.allowScripts?.node).toBe(true);
    expect(pkg.engines.node).toBe(">=24");
  });
});
