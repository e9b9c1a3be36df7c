/**
 * The Dagger layer cannot run here (no engine), so these tests prove what can be proven without one: index.ts
 * type-checks against @dagger.io/dagger's real definitions and a wrong API call would not; every function and
 * argument is documented in the source (the SDK's own view is in introspection.test.ts); live functions' execs carry
 * a cache buster; secrets reach the container only as secret variables or mounted secrets.
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const INDEX = fileURLToPath(new URL("../../.dagger/src/index.ts", import.meta.url));
const TSCONFIG = fileURLToPath(new URL("../../tsconfig.json", import.meta.url));
const source = readFileSync(INDEX, "utf8");

function compilerOptions(): ts.CompilerOptions {
  const { config } = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, dirname(TSCONFIG)).options;
}

/** Type-check index.ts with the repo's options, its text optionally replaced. */
function typeErrors(text: string): string[] {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const original = host.getSourceFile;
  host.getSourceFile = (file, lang, ...rest) =>
    file === INDEX ? ts.createSourceFile(file, text, lang) : original.call(host, file, lang, ...rest);
  const program = ts.createProgram([INDEX], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === INDEX)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("type-checking against @dagger.io/dagger", () => {
  it("index.ts compiles", () => {
    expect(typeErrors(source)).toEqual([]);
  });

  it.each([
    [
      "a plaintext string where a Secret is required",
      'withSecretVariable("SMOKE_TEST_TOKEN", o.token)',
      'withSecretVariable("SMOKE_TEST_TOKEN", "plaintext")',
    ],
    [
      "a shell string instead of an argument array",
      "withExec(argv, { expect: ReturnType.Any })",
      'withExec("release-gate smoke", { expect: ReturnType.Any })',
    ],
    ["an API that does not exist", ".withDefaultTerminalCmd([", ".withTerminalCommand(["],
    [
      "an address string where a Service is required",
      "withServiceBinding(host, target)",
      'withServiceBinding(host, "tcp://localhost:3000")',
    ],
    ["the binding's arguments swapped", "withServiceBinding(host, target)", "withServiceBinding(target, host)"],
    ["a checksum option that does not exist", "checksum: download.checksum", "sha256: download.checksum"],
  ])("a wrong call fails: %s", (_what, from, to) => {
    expect(source).toContain(from);
    expect(typeErrors(source.replace(from, to)).length).toBeGreaterThan(0);
  });
});

/** Parses index.ts (or a variant of it) and finds the ReleaseGate class, its @func methods and its constructor. */
function inspect(text: string) {
  const file = ts.createSourceFile(INDEX, text, ts.ScriptTarget.ES2022, true);
  const cls = file.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === "ReleaseGate");
  const decoratorText = (node: ts.Node) => (ts.canHaveDecorators(node) ? (ts.getDecorators(node) ?? []).map((d) => d.getText()) : []);
  const hasDoc = (node: ts.Node) =>
    (ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []).some((r) => text.slice(r.pos, r.pos + 3) === "/**");
  const funcs = Array.from(cls?.members ?? []).filter(
    (m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && decoratorText(m).some((d) => d.startsWith("@func")),
  );
  const ctor = cls?.members.find(ts.isConstructorDeclaration);
  const undocumented = [
    ...funcs.filter((f) => !hasDoc(f)).map((f) => f.name.getText()),
    ...funcs.flatMap((f) => f.parameters.filter((p) => !hasDoc(p)).map((p) => `${f.name.getText()}(${p.name.getText()})`)),
    ...(ctor?.parameters ?? []).filter((p) => !hasDoc(p)).map((p) => `constructor(${p.name.getText()})`),
  ];
  return { cls, funcs, ctor, decoratorText, undocumented };
}

describe("the ReleaseGate object", () => {
  const { cls, funcs, ctor, decoratorText, undocumented } = inspect(source);

  it("is exported, decorated with @object() and has the functions the design names so far", () => {
    expect(cls && decoratorText(cls)).toEqual(["@object()"]);
    expect(funcs.map((f) => f.name.getText())).toEqual(expect.arrayContaining(["toolbox", "smoke"]));
  });

  it("documents every function and every argument (TSDoc becomes --help)", () => {
    expect(undocumented).toEqual([]);
    // The check itself notices a missing argument doc.
    const doc = "/** Send the canary-routing header so the canary answers directly. */";
    expect(source).toContain(doc);
    expect(inspect(source.replace(doc, "")).undocumented).toEqual(["smoke(canary)"]);
  });

  it("gives every never-cached function's exec a cache buster (function caching off does not stop layer caching)", () => {
    const run = cls?.members.find((m) => ts.isMethodDeclaration(m) && m.name.getText() === "run")?.getText() ?? "";
    expect(run).toContain('if (o.live) c = c.withEnvVariable("RELEASE_GATE_CACHE_BUSTER", `${Date.now()}-${randomUUID()}`);');
    for (const f of funcs) {
      const never = decoratorText(f).includes('@func({ cache: "never" })');
      // The toolbox builds a container; rehearse and demoApp delegate to rehearsal/ (its cache buster: test/rehearsal/dagger.test.ts).
      if (["toolbox", "rehearse", "demoApp"].includes(f.name.getText())) continue;
      expect(f.getText(), f.name.getText()).toContain(never ? "live: true" : "live: false");
    }
  });

  it("passes secrets only as secret variables or mounted secret files", () => {
    expect(source).not.toMatch(/\.plaintext\(/);
    const secretUses = [
      ...source.matchAll(
        /\b(?:this\.|o\.)(kubeconfig|awsAccessKeyId|awsSecretAccessKey|awsSessionToken|awsWebIdentityToken|token)\b(?!\s*[!=]==)/g,
      ),
    ];
    const lines = source.split("\n");
    for (const m of secretUses) {
      const line = lines[source.slice(0, m.index).split("\n").length - 1];
      expect(line, m[0]).toMatch(
        new RegExp(
          /withSecretVariable\(|withMountedSecret\(|/.source +
            /^\s*(if|this\.\w+ = \w+;|kubeconfig:|awsAccessKeyId:|awsSecretAccessKey:|awsSessionToken:|awsWebIdentityToken:|if \(this\.awsRoleArn)/
              .source +
            /|!!this\.|err instanceof|token,|return this\.run/.source,
        ),
      );
    }
  });

  it("takes smoke's target as an optional Service, the type `dagger call` turns tcp://localhost:PORT into", () => {
    const smoke = funcs.find((f) => f.name.getText() === "smoke");
    const target = smoke?.parameters.find((p) => p.name.getText() === "target");
    expect(target?.type?.getText()).toBe("Service");
    expect(target?.questionToken).toBeDefined();
    // Bound only when given: without a target the URL's host is resolved as usual.
    expect(smoke?.getText()).toMatch(/if \(target\) \{[\s\S]*mounts\.push\(\(c\) => c\.withServiceBinding\(host, target\)\);/);
  });

  it("uploads the source from an allow-list, starting by ignoring everything", () => {
    const param = ctor?.parameters[0];
    expect(param && decoratorText(param)[0]).toMatch(/@argument\(\{\s*defaultPath: "\/",\s*ignore: \[\s*"\*\*",/);
  });
});

/**
 * smokeTargetHost() is plain code in index.ts, which cannot be imported without the Dagger runtime: transpile the
 * function's own text and run it, so the test exercises exactly what the module runs.
 */
function loadSmokeTargetHost(text: string): (url: string) => string {
  const file = ts.createSourceFile(INDEX, text, ts.ScriptTarget.ES2022, true);
  const fn = file.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === "smokeTargetHost");
  if (!fn) throw new Error("smokeTargetHost not found in index.ts");
  const js = ts.transpileModule(fn.getText(), { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  return new Function(`${js}\nreturn smokeTargetHost;`)() as (url: string) => string;
}

describe("smoke --target: the URL's host name is what gets bound to the target", () => {
  const smokeTargetHost = loadSmokeTargetHost(source);

  it.each([
    ["http://app:3000", "app"],
    ["http://app.qualisys.io:8080/", "app.qualisys.io"],
    ["https://App.QualiSys.io", "app.qualisys.io"],
    // Only localhost itself is the container's; a name under it is just a name to musl's resolver.
    ["http://api.localhost:3000", "api.localhost"],
  ])("%s binds %s", (url, host) => {
    expect(smokeTargetHost(url)).toBe(host);
  });

  it.each([
    ["http://localhost:3000", /not "localhost"/],
    ["http://127.0.0.1:3000", /not "127\.0\.0\.1"/],
    // Other IPv4 spellings are normalised by URL parsing and still refused.
    ["http://2130706433:3000", /not "127\.0\.0\.1"/],
    ["http://[::1]:3000", /not "\[::1\]"/],
    ["not a url", /is not a URL/],
  ])("refuses %s: inside the container that name is the container itself", (url, message) => {
    expect(() => smokeTargetHost(url)).toThrow(message);
  });

  it("the check is live: without the refusal, localhost would be bound", () => {
    const guard = 'host === "localhost" || ';
    expect(source).toContain(guard);
    expect(loadSmokeTargetHost(source.replace(guard, ""))("http://localhost:3000")).toBe("localhost");
  });
});
