/**
 * The documentation stands alone: README, CONTRIBUTING and docs/ point at nothing outside the repository (users
 * do not have the design notes it was built from), and every relative link and repository path they name exists.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

const files = ["README.md", "CONTRIBUTING.md", "kubernetes/production/README.md", ...readdirSync("docs").map((f) => `docs/${f}`)];

describe.each(files)("%s", (file) => {
  const text = readFileSync(file, "utf8");

  it("names no path outside the repository", () => {
    expect(text.match(/\.\.\/shared|(?<![\w.])\.\.\/\.\.\//g) ?? []).toEqual([]);
  });

  it("links only to files that exist", () => {
    const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    const missing = links.filter((l) => {
      const target = normalize(join(dirname(file), l));
      return target.startsWith("..") || !existsSync(target);
    });
    expect(missing).toEqual([]);
  });
});

it("docs/ has the pages the README links to", () => {
  expect(readdirSync("docs").sort()).toEqual(expect.arrayContaining(["approvals.md", "eks-access.md", "runbook.md"]));
});
