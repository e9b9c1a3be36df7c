/**
 * The Dagger function that wraps github-environments (index.ts cannot be imported without the engine, so its
 * text is inspected): never cached, the token only as a Secret, and every CLI flag it passes is one the command
 * really has.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { register } from "#src/commands/github-environments.ts";

const INDEX = new URL("../../.dagger/src/index.ts", import.meta.url);
const source = readFileSync(INDEX, "utf8");
const file = ts.createSourceFile("index.ts", source, ts.ScriptTarget.ES2022, true);
const cls = file.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === "ReleaseGate");
const fn = cls?.members.find((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && m.name.getText() === "githubEnvironments");

describe("dagger call github-environments", () => {
  it("exists, is never cached and busts the exec cache", () => {
    expect(fn).toBeDefined();
    expect(ts.getDecorators(fn!)?.map((d) => d.getText())).toEqual(['@func({ cache: "never" })']);
    expect(fn!.getText()).toContain('withEnvVariable("RELEASE_GATE_CACHE_BUSTER"');
  });

  it("takes the token as a Secret and hands it over as a secret variable only", () => {
    expect(fn!.parameters.find((p) => p.name.getText() === "token")?.type?.getText()).toBe("Secret");
    expect(fn!.getText()).toContain('withSecretVariable("GITHUB_TOKEN", token)');
    expect(fn!.getText()).not.toMatch(/plaintext|"--token",/);
  });

  it("passes only flags the CLI command has", () => {
    const program = new Command();
    register(program);
    const known = new Set(program.commands[0]!.options.map((o) => o.long));
    const passed = [...fn!.getText().matchAll(/"(--[a-z-]+)"/g)].map((m) => m[1]!);
    expect(passed.length).toBeGreaterThan(4);
    expect(passed.filter((f) => !known.has(f))).toEqual([]);
  });
});
