/**
 * Metric analysis in real releases: a real Prometheus scrapes the simulator's edge while users send requests
 * through it, and the shipped ingress-nginx queries judge the canary. A failed check rolls back like a failed
 * smoke test: weight 0 verified, canary scaled to 0, stable untouched.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { recordToMarkdown } from "#src/audit/markdown.ts";
import { FailedError } from "#src/errors.ts";
import { deploy } from "#src/pipeline/deploy.ts";
import { maxWeight, stableTemplateImages } from "../support/invariants.ts";
import { OLD } from "../support/pipeline-harness.ts";
import { expectInvariants, expectResting, image } from "../support/scenario.ts";
import { startAnalysisRun, USER_PATH, type AnalysisRun } from "./fixture.ts";

let run: AnalysisRun | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
});

async function failedDeploy(tag: string): Promise<FailedError> {
  const err = await deploy(run!.h.env, { tag }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FailedError);
  return err as FailedError;
}

function expectStableUntouched(): void {
  for (const svc of ["qualisys-api", "qualisys-web"]) expect(stableTemplateImages(run!.h.events, svc)).toEqual([image(svc, OLD)]);
}

/** Every evaluation of a step, flattened. */
const evaluations = (rec: ReleaseRecord, step: string) => rec.steps.find((s) => s.name === step)?.analysis?.flatMap((e) => e.checks) ?? [];

describe("metric analysis against a real Prometheus", () => {
  it("promotes a healthy canary, every evaluation recorded with canary and stable values", async () => {
    run = await startAnalysisRun();
    const rec = await deploy(run.h.env, { tag: "1.1.0" });
    expect(rec.outcome).toBe("succeeded");
    await expectResting(run.h, "1.1.0", "succeeded");
    for (const step of ["canary 10%", "canary 50%", "canary 100%"]) {
      const checks = evaluations(rec, step);
      expect(checks.length, step).toBeGreaterThan(0);
      expect(new Set(checks.map((c) => `${c.check}/${c.service}`))).toEqual(
        new Set(["error-rate/qualisys-api", "error-rate/qualisys-web", "latency-p99/qualisys-api", "latency-p99/qualisys-web"]),
      );
    }
    // Users reached the canary, and Prometheus saw it: at 50 % every evaluation has the canary's values.
    const at50 = evaluations(rec, "canary 50%");
    expect(at50.every((c) => typeof c.canary === "number" && typeof c.stable === "number")).toBe(true);
    expect(at50.filter((c) => c.check === "error-rate").every((c) => c.canary === 0)).toBe(true);
    const md = recordToMarkdown(rec);
    expect(md).toContain("**Metric analysis**");
    expect(md).toMatch(/\| canary 50% \| error-rate \| qualisys-api \| 0(, 0)* \| 0(, 0)* \| \d+ passed \|/);
    expectInvariants(run.h);
  }, 120_000);

  it("rolls back a canary returning 5 % errors within its 10 % window", async () => {
    run = await startAnalysisRun({
      windows: ["60s", "3s", "3s"],
      scenario: { images: [{ tag: "flaky-*", app: { failures: [{ status: 500, fraction: 0.05, paths: [USER_PATH] }] } }] },
      // What must catch errors is the error-rate check. With ~10 canary requests a second, one slow answer on a
      // loaded machine moves the canary's p99, and the latency check could fire first: it is not run here.
      analysis: (a) => (a.checks = a.checks.filter((c: { name: string }) => c.name === "error-rate")),
    });
    const err = await failedDeploy("flaky-1");
    expect(err.message).toMatch(
      /canary 10%: metric analysis: check "error-rate" failed for qualisys-(api|web) at evaluation \d+ of 30: .*(> max 0\.02|> stable [\d.e-]+ \+ 0\.01)/,
    );
    const rec = await expectResting(run.h, OLD, "rolled-back");
    expect(rec.rollbackReason).toMatch(/^canary 10%: metric analysis: check "error-rate"/);
    expect(rec.steps.map((s) => s.name)).toEqual(["canary 10%", "rollback"]);
    expect(evaluations(rec, "canary 10%").some((c) => c.check === "error-rate" && c.result === "fail")).toBe(true);
    expect(maxWeight(run.h.events, "ingress-nginx")).toBe(10);
    expectStableUntouched();
    expectInvariants(run.h);
  }, 150_000);

  it("rolls back a canary 500 ms slower than stable", async () => {
    run = await startAnalysisRun({
      windows: ["60s", "3s", "3s"],
      scenario: { images: [{ tag: "slow-*", app: { failures: [{ latencyMs: 500, paths: [USER_PATH] }] } }] },
    });
    const err = await failedDeploy("slow-1");
    expect(err.message).toMatch(
      /canary 10%: metric analysis: check "latency-p99" failed for qualisys-(api|web) at evaluation \d+ of 30: .* > stable .* \+ 0\.25/,
    );
    await expectResting(run.h, OLD, "rolled-back");
    expect(maxWeight(run.h.events, "ingress-nginx")).toBe(10);
    expectStableUntouched();
  }, 150_000);

  it("promotes a healthy canary through a 100 % window longer than the lookback, against stable's value from 50 %", async () => {
    // window: 6s; at 100 % stable gets nothing, so after ~6 s its rates are 0/0. 16 s at 100 %: 8 evaluations,
    // most of them with no stable request left in the lookback.
    run = await startAnalysisRun({ windows: ["3s", "3s", "16s"] });
    // What stable's own query says as the 100 % window ends: no data (why such a window rolled every release back).
    const prom = run.prom;
    let stableAtEnd: Promise<unknown[]> | undefined;
    run.h.onStep("promote", () => (stableAtEnd = prom.query('sum(rate(nginx_ingress_controller_requests{canary=""}[6s])) > 0')));
    const rec = await deploy(run.h.env, { tag: "1.1.0" });
    expect(rec.outcome, rec.rollbackReason).toBe("succeeded");
    expect(await stableAtEnd).toEqual([]);
    const at100 = evaluations(rec, "canary 100%");
    expect(at100.length).toBe(8 * 4);
    const at50 = evaluations(rec, "canary 50%");
    for (const c of at100) {
      const last50 = at50.filter((x) => x.check === c.check && x.service === c.service).at(-1)!;
      expect(c, `${c.check}/${c.service}`).toMatchObject({
        result: "pass",
        stable: last50.stable,
        stableFrom: "canary 50%",
        reason: "stable's value from canary 50% (stable gets no traffic at this weight)",
      });
      expect(typeof c.stable).toBe("number");
    }
    expect(recordToMarkdown(rec)).toMatch(
      new RegExp(
        /\| canary 100% \| latency-p99 \| qualisys-api \| [^|]+ \| [^|]+ \| /.source +
          /8 passed \(stable's value from canary 50%: stable gets no traffic at this weight\) \|/.source,
      ),
    );
    expectInvariants(run.h);
  }, 150_000);

  it("still rolls back a canary 500 ms slower at 100 %, judged against stable's value from 50 %", async () => {
    // One evaluation at 10 % and at 50 % (one failure is allowed): those windows cannot fail, the 100 % one must.
    run = await startAnalysisRun({
      windows: ["2s", "2s", "16s"],
      scenario: { images: [{ tag: "slow-*", app: { failures: [{ latencyMs: 500, paths: [USER_PATH] }] } }] },
    });
    const err = await failedDeploy("slow-2");
    expect(err.message).toMatch(
      new RegExp(
        /canary 100%: metric analysis: check "latency-p99" failed for qualisys-(api|web) at evaluation \d+ of 8: /.source +
          /.* > stable .* \+ 0\.25; stable's value from canary 50% \(stable gets no traffic at this weight\)/.source,
      ),
    );
    const rec = await expectResting(run.h, OLD, "rolled-back");
    expect(rec.steps.map((s) => s.name)).toEqual(["canary 10%", "canary 50%", "canary 100%", "rollback"]);
    expect(maxWeight(run.h.events, "ingress-nginx")).toBe(100);
    expectStableUntouched();
    expectInvariants(run.h);
  }, 150_000);

  it("a canary with no traffic fails by the no-data rule (noData: fail)", async () => {
    // Nobody calls the service during the release: the canary serves only a few smoke-test requests.
    run = await startAnalysisRun({ windows: ["60s", "3s", "3s"], noUsersDuringRelease: true });
    const err = await failedDeploy("1.1.0");
    expect(err.message).toMatch(
      /canary 10%: metric analysis: check "(error-rate|latency-p99)" failed for qualisys-(api|web) at evaluation \d+ of 30: no data \(canary: /,
    );
    await expectResting(run.h, OLD, "rolled-back");
  }, 150_000);

  it("a canary with no traffic passes with warnings when the checks say noData: warn", async () => {
    run = await startAnalysisRun({
      windows: ["6s", "2s", "2s"],
      noUsersDuringRelease: true,
      analysis: (a) => a.checks.forEach((c: Record<string, unknown>) => (c.noData = "warn")),
    });
    const rec = await deploy(run.h.env, { tag: "1.1.0" });
    expect(rec.outcome).toBe("succeeded");
    // At 10 % the canary sees at most a stray smoke request: a rate needs two, so its values are no data.
    const warned = evaluations(rec, "canary 10%").filter((c) => c.noData);
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.every((c) => c.result === "pass" && c.canary === null && /passed with a warning/.test(c.reason!))).toBe(true);
    expect(run.h.log.some((l) => /^warn metric analysis: .*no data \(canary: .*passed with a warning/.test(l))).toBe(true);
  }, 150_000);

  it("rolls back when Prometheus becomes unreachable mid-window: never a silent pass", async () => {
    run = await startAnalysisRun({ windows: ["60s", "3s", "3s"] });
    const prom = run.prom;
    run.h.onStep("canary 10%", () => void prom.stop());
    const err = await failedDeploy("1.1.0");
    expect(err.message).toMatch(
      new RegExp(
        /canary 10%: metric analysis: check "[a-z0-9-]+" for qualisys-(api|web) at evaluation 1 of 30: /.source +
          /Prometheus could not answer the (query|stableQuery): .*connection failed \(ECONNREFUSED\) after 2 attempt\(s\); /.source +
          /a canary that cannot be judged does not pass/.source,
      ),
    );
    await expectResting(run.h, OLD, "rolled-back");
    expectStableUntouched();
  }, 150_000);
});
