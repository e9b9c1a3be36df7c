/**
 * The Dagger runtime installs the module's dependencies from .dagger/package.json and its lock file; the repo's
 * own tests and CLI resolve them from the root install. Both must be the very same versions, or the tests would
 * prove code that production does not run.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const json = (p: string) => JSON.parse(readFileSync(new URL(`../../${p}`, import.meta.url), "utf8"));
const daggerPkg = json(".dagger/package.json");
const daggerLock = json(".dagger/package-lock.json");
const rootPkg = json("package.json");
const rootLock = json("package-lock.json");

// typescript is the Dagger runtime's own (it needs it to load the module); the repo pins its own for tooling.
const runtimeDeps = Object.keys(daggerPkg.dependencies).filter((d) => d !== "typescript");

describe("Dagger module dependencies", () => {
  it("lists every runtime dependency at the root with the same range, and nothing more", () => {
    expect(Object.fromEntries(runtimeDeps.map((d) => [d, daggerPkg.dependencies[d]]))).toEqual(rootPkg.dependencies);
  });

  it.each(runtimeDeps)("locks %s to the same version as the root install", (dep) => {
    const inDagger = daggerLock.packages[`node_modules/${dep}`]?.version;
    const atRoot = rootLock.packages[`node_modules/${dep}`]?.version;
    expect(inDagger, `${dep} missing from .dagger/package-lock.json`).toBeTruthy();
    expect(inDagger).toBe(atRoot);
  });

  it("keeps @dagger.io/dagger out of the module's dependencies (the runtime supplies its generated SDK)", () => {
    expect(daggerPkg.dependencies["@dagger.io/dagger"]).toBeUndefined();
  });

  it("pins the engine to the SDK version the module is type-checked against", () => {
    const engine = json("dagger.json").engineVersion;
    expect(engine).toBe(`v${rootPkg.devDependencies["@dagger.io/dagger"]}`);
  });
});
