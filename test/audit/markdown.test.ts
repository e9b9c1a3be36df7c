import { describe, expect, it } from "vitest";
import { historyToMarkdown, recordToMarkdown } from "#src/audit/markdown.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";

const record: ReleaseRecord = {
  id: "r1",
  command: "deploy",
  namespace: "production",
  tag: "1.2.0",
  triggeredBy: "alice",
  approval: {
    source: "github",
    approvers: [
      { login: "devops-lead", environment: "production-signoff" },
      { login: "tech-lead", environment: "production" },
    ],
    actor: "alice",
    triggeringActor: "alice",
    runUrl: "https://github.com/qualisys/app/actions/runs/42",
    runAttempt: 2,
  },
  ciRun: "qualisys/app run 42",
  startedAt: "2026-11-26T10:00:00.000Z",
  durationMs: 95_000,
  outcome: "rolled-back",
  rollbackReason: "canary 50%: smoke tests failed | login 503",
  services: [
    {
      name: "qualisys-api",
      previousImage: "r/api:1.1.0",
      newImage: "r/api:1.2.0",
      finalImage: "r/api:1.1.0",
      digest: "sha256:" + "b".repeat(64),
    },
  ],
  steps: [
    {
      name: "canary 10%",
      weight: 10,
      startedAt: "x",
      durationMs: 40_000,
      result: "passed",
      smoke: [{ url: "https://api.qualisys.io", canary: true, ok: true, checks: [] }],
      observedSplit: [{ service: "qualisys-api", expected: 10, observed: 11.5, samples: 200 }],
    },
    {
      name: "canary 50%",
      weight: 50,
      startedAt: "y",
      durationMs: 5_000,
      result: "failed",
      smoke: [
        {
          url: "https://api.qualisys.io",
          canary: false,
          ok: false,
          checks: [{ name: "login", ok: false, status: 503, latencyMs: 3, reason: "expected 200, got 503" }],
        },
      ],
    },
  ],
  finalState: "qualisys-api: stable r/api:1.1.0 (4 available), canary 0 replicas; canary weight 0",
};

describe("the release record as Markdown", () => {
  it("says who, what, when, each step, the failed checks, the reason and where production stands", () => {
    const md = recordToMarkdown(record);
    expect(md).toMatch(/^## release-gate deploy `1.2.0` to production: ↩️ rolled back/);
    expect(md).toContain(
      "**Approved by:** devops-lead (production-signoff), tech-lead (production), checked against " +
        "[run, attempt 2](https://github.com/qualisys/app/actions/runs/42) on GitHub; started by alice",
    );
    expect(md).toContain("took 1m 35s");
    // A pipe in a reason cannot break the table.
    expect(md).toContain("canary 50%: smoke tests failed \\| login 503");
    expect(md).toMatch(/\| qualisys-api \| `r\/api:1.1.0` \| `r\/api:1.2.0` \| `sha256:bbbbbbbbbbbb…` \| `r\/api:1.1.0` \|/);
    expect(md).toMatch(/\| canary 10% \| passed \| 40s \| ✓ canary https:\/\/api.qualisys.io \| qualisys-api: 11.5% observed of 10% \|/);
    expect(md).toContain("- canary 50% · https://api.qualisys.io · login: expected 200, got 503");
    expect(md).toContain("**Production now:** qualisys-api: stable r/api:1.1.0");
  });

  it("labels self-reported approvers as not verified", () => {
    const md = recordToMarkdown({ ...record, approval: { source: "self-reported", approvers: [{ login: "bob" }, { login: "carol" }] } });
    expect(md).toContain("**Approved by (self-reported, not verified):** bob, carol");
    expect(md).not.toContain("checked against");
  });

  it("lists history newest first, or says there is none", () => {
    expect(historyToMarkdown([])).toBe("No releases recorded yet.\n");
    expect(
      historyToMarkdown([record, { ...record, id: "r0", tag: "1.1.0", outcome: "succeeded", rollbackReason: undefined }])
        .split("\n")
        .slice(2, 4),
    ).toEqual([expect.stringMatching(/`1.2.0` \| ↩️ rolled back \| alice/), expect.stringMatching(/`1.1.0` \| ✅ succeeded/)]);
  });
});
