/**
 * release-gate is not published on npm, so anyone may publish a package of that name. Wherever npx would resolve it
 * outside this checkout (a kubeconfig's exec entry, which kubectl runs from any directory without a terminal; a
 * command pasted elsewhere), it downloads that package and runs it, silently when there is no terminal. So no
 * documentation, printed instruction or generated kubeconfig says `npx release-gate`: it is `npx --no --
 * release-gate` (no download, ever) or an absolute path to bin/release-gate.js.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Every `npx … release-gate` whose options before the name do not include --no; and every exec `command: npx`. */
function unsafeNpx(text: string): string[] {
  const bare = [...text.matchAll(/\bnpx((?:\s+-\S*)*)\s+release-gate\b/g)].filter((m) => !/(^|\s)--no(\s|$)/.test(m[1]!)).map((m) => m[0]);
  const exec = [...text.matchAll(/\bcommand:\s*["']?npx\b/g)].map((m) => m[0]);
  return [...bare, ...exec];
}

const walk = (dir: string, ext: RegExp): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), ext) : ext.test(e.name) ? [join(dir, e.name)] : [],
  );

const files = [
  "README.md",
  "CONTRIBUTING.md",
  ...walk("docs", /\.md$/),
  ...walk("kubernetes", /\.md$/),
  // What the CLI and the module print (help texts, refusals) and the simulator's paste-in instructions.
  ...walk(".dagger/src", /\.ts$/),
  ...walk("bin", /\.js$/),
  "test/sim/main.ts",
];

describe("no bare `npx release-gate`", () => {
  it("the check finds the forms that fetch, and passes the ones that cannot", () => {
    expect(unsafeNpx("run `npx release-gate status`")).toHaveLength(1);
    expect(unsafeNpx("npx -y release-gate deploy")).toHaveLength(1);
    expect(unsafeNpx("exec:\n  command: npx\n  args: [release-gate, eks-token]")).toHaveLength(1);
    expect(unsafeNpx("npx --no -- release-gate status; npx --no release-gate plan")).toEqual([]);
    expect(unsafeNpx("command: /opt/node\nargs: [/opt/release-gate/bin/release-gate.js, eks-token]")).toEqual([]);
  });

  it.each(files)("%s", (file) => {
    expect(unsafeNpx(readFileSync(file, "utf8"))).toEqual([]);
  });
});
