/**
 * The README is the newcomer's door: its two set-up commands must be the ones CI runs, and its examples must
 * be accepted by the code they document.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseSuite } from "#src/smoke/suite.ts";

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), "utf8");
const readme = read("README.md");

/** The fenced block that follows a heading (in the README, or `text`). */
function blockAfter(heading: string, text = readme): string {
  const at = text.indexOf(heading);
  expect(at, `no "${heading}"`).toBeGreaterThanOrEqual(0);
  const m = /```\w*\n([\s\S]*?)```/.exec(text.slice(at));
  expect(m, `no code block after "${heading}"`).not.toBeNull();
  return m![1];
}

describe("README", () => {
  it("has exactly two set-up commands, and .ci/run runs the test one", () => {
    const commands = blockAfter("## Two commands")
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean);
    expect(commands).toEqual(["npm ci && npm run demo", "npm install-ci-test"]);
    expect(read(".ci/run")).toMatch(/^npm install-ci-test$/m);
    expect(JSON.parse(read("package.json")).scripts.demo).toBeTruthy();
  });

  it("docs/smoke.md documents a suite file the smoke runner accepts", () => {
    const suite = parseSuite(parse(blockAfter("## Suite files", read("docs/smoke.md"))), "docs/smoke.md example");
    expect(suite.checks.map((c) => c.name)).toEqual(["health", "ready", "home", "me"]);
    expect(suite.checks.find((c) => c.name === "me")?.auth).toBe("bearer");
  });
});
