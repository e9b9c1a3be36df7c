/**
 * .github/workflows/rehearsal.yml, the one place the rehearsal runs (GitHub runners have Docker): on a schedule and
 * by hand, reading the repository only, a matrix over both routers with bad versions the demo app knows, the
 * refusal checked on the real engine, `dagger call rehearse` with the ports kind.yaml maps, and the timeline as the
 * job summary whatever happened. (Pins, expressions, ShellCheck and actionlint: test/repo/workflows.test.ts.)
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { DEMO_FAILURES } from "#src/rehearsal/demo-app.ts";
import { ROUTERS } from "#src/rehearsal/release-config.ts";

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
    const call = steps.find((s) => s.run?.includes("rehearse \\"))!.run!;
    expect(call).toMatch(/dagger --progress=plain call --kube-api="tcp:\/\/localhost:\$\{API_PORT\}" rehearse/);
    for (const arg of [
      "--docker-socket=/var/run/docker.sock",
      '--edge="tcp://localhost:${EDGE_PORT}"',
      '--router="$ROUTER"',
      '--failure="$FAILURE"',
      "--delete-cluster",
    ]) {
      expect(call).toContain(arg);
    }
  });

  it("checks the refusal on the real engine before the rehearsal, expecting exit 2 and no kind node", () => {
    const refusal = steps.findIndex((s) => s.run?.includes("expected exit 2"));
    const rehearse = steps.findIndex((s) => s.run?.includes("rehearse \\"));
    expect(refusal).toBeGreaterThan(-1);
    expect(refusal).toBeLessThan(rehearse);
    expect(steps[refusal].run).toContain("--kubeconfig=");
    expect(steps[refusal].run).toContain("created a kind node");
  });

  it("writes the timeline to the job summary whatever happened", () => {
    const summary = steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"))!;
    expect(summary.if).toBe("always()");
    expect(summary.run).toContain('cat "$RUNNER_TEMP/timeline.md"');
    expect(code).toMatch(/>"\$RUNNER_TEMP\/timeline\.md"/);
  });

  it("bounds the job and every run: step with a timeout", () => {
    expect(job["timeout-minutes"]).toBeGreaterThan(0);
    expect(steps.filter((s) => s.run && !s["timeout-minutes"]).map((s) => s.name)).toEqual([]);
  });
});
