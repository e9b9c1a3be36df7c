/**
 * The module as Dagger sees it, from the SDK's own code: the pinned @dagger.io/dagger's introspector scan(), run as
 * the runtime runs it (test/dagger/support/runtime-load.ts). It lists every function with its description and every
 * argument described (TSDoc is what `dagger call X --help` prints), functions with side effects or live verdicts are
 * never cached, credential-like arguments are Secrets, and the source upload is an allow-list.
 */
import { readFileSync } from "node:fs";
import picomatch from "picomatch";
import { beforeAll, describe, expect, it } from "vitest";
import { runtimeLoad, type ScannedArg, type ScannedObject } from "./support/runtime-load.ts";

let module: ScannedObject;
beforeAll(async () => {
  const r = await runtimeLoad();
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.objects).toHaveLength(1);
  module = r.objects![0];
}, 180_000);

const PIPELINE = [
  "deploy",
  "canary",
  "promote",
  "rollback",
  "undo",
  "status",
  "history",
  "plan",
  "smoke",
  "approvals",
  "githubEnvironments",
];
/** The kind rehearsal and the demo app image it releases (test/rehearsal/dagger.test.ts looks at them closely). */
const REHEARSAL = ["rehearse", "demoApp"];
/** Side effects (deploy…rollback, githubEnvironments --apply, rehearse) or a verdict only true now (status, history, smoke, approvals). */
const NEVER_CACHED = [
  "deploy",
  "canary",
  "promote",
  "rollback",
  "undo",
  "status",
  "history",
  "smoke",
  "approvals",
  "githubEnvironments",
  "rehearse",
];
const CREDENTIAL_LIKE = /token|secret|password|kubeconfig|access-?key|credential/i;

const fn = (name: string) => module.functions.find((f) => f.name === name);

describe("scan() of the module", () => {
  it("is the ReleaseGate object, described", () => {
    expect(module.name).toBe("ReleaseGate");
    expect(module.description).toMatch(/\S{10}/);
  });

  it("lists every pipeline function, the toolbox and the rehearsal's", () => {
    expect(module.functions.map((f) => f.name).sort()).toEqual([...PIPELINE, "toolbox", ...REHEARSAL].sort());
  });

  it("describes every function and every argument, the constructor's included", () => {
    const undescribed = [
      ...module.functions.filter((f) => f.description.trim().length < 20).map((f) => f.name),
      ...module.functions.flatMap((f) => f.arguments.filter((a) => a.description.trim().length < 10).map((a) => `${f.name}(${a.name})`)),
      ...module.constructor.filter((a) => a.description.trim().length < 10).map((a) => `constructor(${a.name})`),
    ];
    expect(undescribed).toEqual([]);
  });

  it("never caches a function with side effects or a live verdict; plan (release.yaml only) may be", () => {
    const cache = Object.fromEntries(module.functions.map((f) => [f.name, f.cache ?? "default"]));
    for (const name of NEVER_CACHED) expect(cache[name], name).toBe("never");
    expect(cache.plan).toBe("default");
  });

  it("takes every credential-like argument as a Secret", () => {
    const all: Array<[string, ScannedArg]> = [
      ...module.constructor.map((a) => [`constructor(${a.name})`, a] as [string, ScannedArg]),
      ...module.functions.flatMap((f) => f.arguments.map((a) => [`${f.name}(${a.name})`, a] as [string, ScannedArg])),
    ];
    const credentialLike = all.filter(([, a]) => CREDENTIAL_LIKE.test(a.name));
    expect(credentialLike.map(([w]) => w)).toEqual(
      expect.arrayContaining([
        "constructor(kubeconfig)",
        "constructor(awsAccessKeyId)",
        "constructor(awsSecretAccessKey)",
        "constructor(awsSessionToken)",
        "constructor(awsWebIdentityToken)",
        "deploy(token)",
        "smoke(token)",
      ]),
    );
    expect(credentialLike.filter(([, a]) => a.type.name !== "Secret").map(([w]) => w)).toEqual([]);
  });

  it("takes the connection settings the issue names as constructor arguments, with their types", () => {
    const types = Object.fromEntries(module.constructor.map((a) => [a.name, a.type.name ?? a.type.kind]));
    expect(types).toEqual({
      source: "Directory",
      kubeconfig: "Secret",
      context: "STRING_KIND",
      kubeApi: "Service",
      tlsServerName: "STRING_KIND",
      eksCluster: "STRING_KIND",
      awsRegion: "STRING_KIND",
      awsAccessKeyId: "Secret",
      awsSecretAccessKey: "Secret",
      awsSessionToken: "Secret",
      awsRoleArn: "STRING_KIND",
      awsWebIdentityToken: "Secret",
      // The GitHub Actions run calling the module (issue 10): records name who triggered them.
      githubActor: "STRING_KIND",
      githubRunUrl: "STRING_KIND",
      // Where the run's approvals are read on GitHub Enterprise Server ($GITHUB_API_URL).
      githubApiUrl: "STRING_KIND",
    });
    expect(module.constructor.filter((a) => a.name !== "source").every((a) => a.isOptional)).toBe(true);
  });

  it("returns text from every pipeline function (the CLI's summary, or JSON with --json)", () => {
    for (const name of PIPELINE) expect(fn(name)?.returnType, name).toMatchObject({ kind: "STRING_KIND" });
  });
});

/**
 * The source upload is an allow-list. These are gitignore-style patterns where the last match wins, which is how
 * Dagger 0.21 documents `ignore` (`"**", "!foo"` keeps only foo); picomatch evaluates each pattern here. What the
 * real engine uploads is checked on GitHub (ci.yml, job dagger) with stray files planted in the checkout.
 */
describe("the source directory's ignore patterns", () => {
  let patterns: string[];
  beforeAll(() => {
    const source = module.constructor.find((a) => a.name === "source")!;
    expect(source.defaultPath).toBe("/");
    patterns = source.ignore ?? [];
  });

  const uploaded = (path: string) => {
    let ignored = false;
    for (const p of patterns) {
      const negated = p.startsWith("!");
      const glob = negated ? p.slice(1) : p;
      if (picomatch.isMatch(path, glob, { dot: true }) || picomatch.isMatch(path, `${glob}/**`, { dot: true })) ignored = !negated;
    }
    return !ignored;
  };

  it("starts by ignoring everything", () => {
    expect(patterns[0]).toBe("**");
  });

  it.each([
    "package.json",
    "bin/release-gate.js",
    "bin/node-version.js",
    ".dagger/package.json",
    ".dagger/package-lock.json",
    ".dagger/src/index.ts",
    ".dagger/src/pipeline/lifecycle.ts",
    "kubernetes/production/release.yaml",
    "kubernetes/production/gateway-api/httproutes.yaml",
    // The rehearsal: its story's entry, the demo app image's files, kind's config, overlays and router files.
    "bin/rehearsal.js",
    "bin/demo-app.js",
    ".dagger/src/rehearsal/demo-app.ts",
    "kubernetes/local/kind.yaml",
    "kubernetes/local/ingress-nginx/kustomization.yaml",
    "kubernetes/local/demo-app/kustomization.yaml",
    "kubernetes/local/routers/gateway-api.yaml",
  ])("uploads %s (the toolbox needs it)", (path) => {
    expect(uploaded(path)).toBe(true);
  });

  it.each([
    ".env",
    ".env.production",
    "kubeconfig",
    ".kube/config",
    "kubernetes/production/kubeconfig",
    "kubernetes/production/kubeconfig.yaml",
    "kubernetes/production/.env",
    ".dagger/src/.env",
    ".dagger/src/secrets.json",
    "bin/.env",
    "bin/kubeconfig.js",
    "kubernetes/tls.key",
    "kubernetes/ca.pem",
    ".npmrc",
    ".git/config",
    "node_modules/undici/index.js",
    ".dagger/node_modules/x/index.ts",
    "test/sim/apiserver.ts",
    "README.md",
    "scripts/demo.ts",
  ])("never uploads %s", (path) => {
    expect(uploaded(path)).toBe(false);
  });
});

/**
 * What users read lists what the module really has: the function table of docs/dagger.md and the README's
 * `dagger functions` line name exactly the functions scan() registers (as the CLI spells them, kebab-case).
 */
describe("the documentation lists every function", () => {
  const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
  const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const registered = () => module.functions.map((f) => kebab(f.name)).sort();

  it("docs/dagger.md's function table", () => {
    const doc = read("docs/dagger.md");
    const start = doc.indexOf("| function | CLI command | cached |");
    expect(start).toBeGreaterThan(-1);
    const rows = doc.slice(start).split("\n\n")[0]!.split("\n").slice(2);
    const listed = rows.flatMap((row) => [...row.split("|")[1]!.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!));
    expect(listed.sort()).toEqual(registered());
  });

  it("the README's `dagger functions` line", () => {
    const line = read("README.md")
      .split("\n")
      .find((l) => /^dagger functions\s+#/.test(l));
    expect(line).toBeDefined();
    const listed = line!.replace(/^dagger functions\s+#\s*/, "").split(/,\s*/);
    expect(listed.sort()).toEqual(registered());
  });

  it("leaves no TSDoc block in .dagger/src/index.ts unattached (two in a row: the first describes nothing)", () => {
    const source = read(".dagger/src/index.ts");
    const orphans = [...source.matchAll(/\*\/\s*\/\*\*/g)].map((m) => source.slice(0, m.index).split("\n").length);
    expect(orphans).toEqual([]);
  });
});
