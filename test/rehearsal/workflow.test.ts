/**
 * .github/workflows/rehearsal.yml, the one place the rehearsal runs (GitHub runners have Docker): on a schedule and
 * by hand, reading the repository only, a matrix over both routers with bad versions the demo app knows, the
 * refusal checked on the real engine, `dagger call rehearse` with the ports kind.yaml maps, and the timeline as the
 * job summary whatever happened. (Pins, expressions, ShellCheck and actionlint: test/repo/workflows.test.ts.)
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { DEMO_FAILURES } from "#src/rehearsal/demo-app.ts";
import { ROUTERS } from "#src/rehearsal/release-config.ts";
import { fakeDagger, type FakeDagger } from "../support/fake-dagger.ts";

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), "utf8");
const wf = parse(read(".github/workflows/rehearsal.yml"));
const job = wf.jobs.rehearse;
const steps: Array<{ name?: string; run?: string; if?: string; uses?: string; "timeout-minutes"?: number }> = job.steps;
const code = steps.map((s) => s.run ?? "").join("\n");

describe("rehearsal.yml", () => {
  it("runs on a schedule and by hand, and may only read the repository", () => {
    expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    expect(wf.permissions).toEqual({ contents: "read" });
    expect(job.permissions).toBeUndefined();
  });

  it("rehearses both routers, each with a bad version the demo app knows, and lets the other finish when one fails", () => {
    const include: Array<{ router: string; failure: string }> = job.strategy.matrix.include;
    expect(include.map((m) => m.router).sort()).toEqual([...ROUTERS].sort());
    for (const m of include) expect(DEMO_FAILURES).toContain(m.failure);
    expect(job.strategy["fail-fast"]).toBe(false);
    expect(wf.on.workflow_dispatch.inputs.failure.options).toEqual(["matrix default", ...DEMO_FAILURES]);
  });

  it("calls rehearse through the --kube-api host service with the ports kind.yaml maps, and deletes the cluster", () => {
    const kind = parse(read("kubernetes/local/kind.yaml"));
    expect(job.env.API_PORT).toBe(String(kind.networking.apiServerPort));
    expect(job.env.EDGE_PORT).toBe(String(kind.nodes[0].extraPortMappings[0].hostPort));
    expect(steps.find((s) => s.name?.startsWith("dagger call rehearse"))!.run).toBe(
      'scripts/rehearse-on-kind.sh "$RUNNER_TEMP/timeline.md" "$RUNNER_TEMP/rehearsal.log"',
    );
    const call = read("scripts/rehearse-on-kind.sh");
    expect(call).toMatch(/dagger --progress=plain call --kube-api="tcp:\/\/localhost:\$\{API_PORT\}" rehearse/);
    for (const arg of [
      "--docker-socket=/var/run/docker.sock",
      '--edge="tcp://localhost:${EDGE_PORT}"',
      '--router="${ROUTER}"',
      '--failure="${FAILURE}"',
      "--delete-cluster",
    ]) {
      expect(call).toContain(arg);
    }
  });

  it("checks the refusal on the real engine before the rehearsal, expecting exit 2 and no kind node", () => {
    const refusal = steps.findIndex((s) => s.run?.includes("expected exit 2"));
    const rehearse = steps.findIndex((s) => s.run?.includes("scripts/rehearse-on-kind.sh"));
    expect(refusal).toBeGreaterThan(-1);
    expect(refusal).toBeLessThan(rehearse);
    expect(steps[refusal].run).toContain("--kubeconfig=");
    expect(steps[refusal].run).toContain("created a kind node");
  });

  it("writes the timeline to the job summary whatever happened", () => {
    const summary = steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"))!;
    expect(summary.if).toBe("always()");
    expect(summary.run).toContain('cat "$RUNNER_TEMP/timeline.md"');
    expect(code).toContain('scripts/rehearse-on-kind.sh "$RUNNER_TEMP/timeline.md"');
  });

  it("bounds the job and every run: step with a timeout", () => {
    expect(job["timeout-minutes"]).toBeGreaterThan(0);
    expect(steps.filter((s) => s.run && !s["timeout-minutes"]).map((s) => s.name)).toEqual([]);
  });
});

/**
 * scripts/rehearse-on-kind.sh, the rehearsal step, run for real with a stand-in dagger on PATH, then the summary
 * step on what it left. A failed `dagger call` prints nothing on stdout; with --progress=plain it prints the
 * function's output after the error between `Stdout:` and `Stderr:` (Dagger 0.21's cmd/dagger/functions.go).
 */
describe("scripts/rehearse-on-kind.sh (the rehearsal step, with a stand-in dagger on PATH)", () => {
  const SCRIPT = fileURLToPath(new URL("../../scripts/rehearse-on-kind.sh", import.meta.url));
  const timeline = (verdict: string) =>
    [
      `## release-gate rehearsal on kind: ${verdict}`,
      "",
      "- **Cluster:** kind `release-gate-rehearsal` (created) on this machine's loopback",
      "- **Time to detect the failure:** 4.2 s",
      "- **Time until traffic was back on stable:** 0.3 s",
      "- **After the rollback, through the edge:** 40 of 40 answers from 2.0.0",
      "",
      "**Total with Dagger's builds** (demo app images, kind and kustomize, the toolbox): 6 min 12 s",
      "",
    ].join("\n");
  const GOOD = timeline("✅ the good release was promoted and the bad one rolled back by itself");
  const BAD = [
    timeline("❌ the story did not go as a release should"),
    "### What went wrong",
    "",
    "- the bad release was promoted",
    "",
  ].join("\n");
  const PROGRESS =
    "1  : connect\n17 : [3.1s] | ## release-gate rehearsal on kind: (the exec's own output, as progress)\nStdout: not a block\n";
  const failed = (stdout: string, code = 1) => ({
    exit: code,
    stdout: "",
    stderr:
      `${PROGRESS}Error: release-gate rehearse: the bad release was promoted\n` +
      `${stdout ? `Stdout:\n${stdout}\n` : ""}Stderr:\nrelease-gate: the bad release was promoted\n`,
  });

  async function rehearse(fake: FakeDagger) {
    const dir = mkdtempSync(join(tmpdir(), "release-gate-rehearse-"));
    const env = { ROUTER: "gateway-api", FAILURE: "server-errors", API_PORT: "6443", EDGE_PORT: "8080" };
    const r = await execa("bash", [SCRIPT, join(dir, "timeline.md"), join(dir, "rehearsal.log")], {
      reject: false,
      extendEnv: false,
      env: { PATH: `${fake.bin}:${process.env.PATH}`, ...env },
    });
    // The summary step after it, as the workflow runs it.
    const summary = join(dir, "summary.md");
    writeFileSync(summary, "");
    const summaryStep = steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"))!.run!;
    const s = await execa("bash", ["-eo", "pipefail", "-c", summaryStep], {
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH, RUNNER_TEMP: dir, GITHUB_STEP_SUMMARY: summary, ...env },
    });
    expect(s.exitCode).toBe(0);
    return {
      code: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      timeline: readFileSync(join(dir, "timeline.md"), "utf8"),
      log: readFileSync(join(dir, "rehearsal.log"), "utf8"),
      summary: readFileSync(summary, "utf8"),
      calls: await fake.calls(),
    };
  }

  it("a story that went well: the call's stdout is the timeline, its stderr shown and kept, exit 0", async () => {
    const fake = await fakeDagger();
    await fake.answer("rehearse", { exit: 0, stdout: GOOD, stderr: PROGRESS });
    const r = await rehearse(fake);
    expect(r.code).toBe(0);
    expect(r.timeline).toBe(GOOD);
    expect(r.log).toBe(PROGRESS);
    expect(r.stderr).toContain("17 : [3.1s]");
    expect(r.summary).toContain(GOOD);
    expect(r.calls).toEqual([
      [
        "--progress=plain",
        "call",
        "--kube-api=tcp://localhost:6443",
        "rehearse",
        "--docker-socket=/var/run/docker.sock",
        "--edge=tcp://localhost:8080",
        "--router=gateway-api",
        "--failure=server-errors",
        "--delete-cluster",
      ],
    ]);
  });

  it("a story that went wrong (exit 1, nothing on stdout): the timeline is taken from the failed call's output, and is the summary", async () => {
    const fake = await fakeDagger();
    await fake.answer("rehearse", failed(BAD));
    const r = await rehearse(fake);
    expect(r.code).toBe(1);
    expect(r.timeline.trimEnd()).toBe(BAD.trimEnd());
    expect(r.stdout).toContain("::error::dagger call rehearse exited 1");
    expect(r.summary).toContain("# kind rehearsal: gateway-api, bad version server-errors");
    expect(r.summary).toContain("### What went wrong");
    expect(r.summary).not.toContain("The rehearsal printed no timeline");
  });

  it("a failure before any story (a refusal, exit 2): no timeline, and the summary shows the log's end instead", async () => {
    const fake = await fakeDagger();
    await fake.answer("rehearse", failed("", 2));
    const r = await rehearse(fake);
    expect(r.code).toBe(2);
    expect(r.timeline).toBe("");
    expect(r.summary).toContain("The rehearsal printed no timeline. Its last output:");
    expect(r.summary).toContain("Error: release-gate rehearse");
  });

  it("output after the error that is not a timeline is not taken for one", async () => {
    const fake = await fakeDagger();
    await fake.answer("rehearse", failed("release-gate: something else entirely\n"));
    const r = await rehearse(fake);
    expect(r.code).toBe(1);
    expect(r.timeline).toBe("");
  });

  it("a passing call whose timeline lacks its measurements fails the step", async () => {
    const fake = await fakeDagger();
    await fake.answer("rehearse", { exit: 0, stdout: GOOD.replace(/- \*\*Time to detect the failure:\*\* .*\n/, "") });
    const r = await rehearse(fake);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("::error::the rehearsal passed but its timeline lacks: Time to detect the failure");
  });
});
