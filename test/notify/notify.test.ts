/**
 * `release-gate notify` through the real bin against a local stand-in for a Slack incoming webhook: what the message
 * says, the job summary, a missing webhook (not an error), a failing Slack (exit 1, never the URL in output) and a
 * release that ended without a record.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { releaseGate } from "../support/run-cli.ts";

let server: Server;
let url: string;
let answers: number[];
const posts: Array<{ path: string; body: any }> = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "release-gate-notify-"));
  server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      posts.push({ path: req.url ?? "", body: JSON.parse(text) });
      const status = answers.shift() ?? 200;
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no_service");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // Incoming-webhook URLs carry their secret in the path.
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXXsecretXXXXwebhookXXXX`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers = [];
  posts.length = 0;
});

const record: ReleaseRecord = {
  id: "r1",
  command: "deploy",
  namespace: "production",
  tag: "1.4.2",
  triggeredBy: "alice-dev",
  approval: {
    source: "github",
    approvers: [
      { login: "dana-devops", environment: "production-signoff" },
      { login: "tina-tech", environment: "production" },
    ],
    triggeringActor: "alice-dev",
    runUrl: "https://github.com/qualisys/platform/actions/runs/16042",
    runAttempt: 1,
  },
  startedAt: "2026-01-05T10:00:00.000Z",
  durationMs: 452_000,
  outcome: "rolled-back",
  rollbackReason: "canary 50%: smoke <login> failed",
  services: [],
  steps: [],
  finalState: "all traffic on stable 1.4.1",
};

async function notify(rec: unknown, env: Record<string, string> = {}) {
  const file = join(dir, `record-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, typeof rec === "string" ? rec : JSON.stringify(rec));
  const r = await releaseGate(["notify", "--record", file], env);
  expect(r.stdout + r.stderr).not.toContain("XXXXsecretXXXXwebhookXXXX");
  return r;
}

describe("release-gate notify", () => {
  it("posts outcome, version, approvers, duration and the run link to the webhook", async () => {
    const r = await notify(record, { SLACK_WEBHOOK_URL: url });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("told Slack: 1.4.2 rolled-back");
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe("/services/T000/B000/XXXXsecretXXXXwebhookXXXX");
    const text = JSON.stringify(posts[0]!.body);
    expect(posts[0]!.body.text).toBe("release-gate deploy 1.4.2 to production: rolled-back");
    expect(text).toContain(":leftwards_arrow_with_hook: rolled back");
    expect(text).toContain("<https://github.com/qualisys/platform/actions/runs/16042|run>");
    expect(text).toContain("dana-devops (production-signoff), tina-tech (production)");
    expect(text).toContain("*Took:* 7m 32s");
    // Text from the record is escaped for Slack's mrkdwn.
    expect(text).toContain("smoke &lt;login&gt; failed");
  });

  it("retries a 5xx, then succeeds", async () => {
    answers = [503];
    const r = await notify(record, { SLACK_WEBHOOK_URL: url });
    expect(r.code).toBe(0);
    expect(posts).toHaveLength(2);
  });

  it("a webhook Slack refuses: exit 1, says the release is not affected, never prints the URL", async () => {
    answers = [404];
    const r = await notify(record, { SLACK_WEBHOOK_URL: url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Slack was not told: Slack answered 404 (no_service); the release itself is not affected");
    expect(posts).toHaveLength(1);
  });

  it("no webhook configured: nothing posted, exit 0", async () => {
    const r = await notify(record);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no Slack webhook (SLACK_WEBHOOK_URL is unset): nothing posted");
    expect(posts).toEqual([]);
  });

  it("appends the record to the job summary in GitHub Actions", async () => {
    const summary = join(dir, "summary.md");
    await writeFile(summary, "earlier\n");
    const r = await notify(record, { GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(0);
    const md = await readFile(summary, "utf8");
    expect(md).toMatch(/^earlier\n## release-gate deploy `1.4.2` to production: ↩️ rolled back/);
  });

  it("a release that ended without a record (the deploy died) is still told", async () => {
    const summary = join(dir, "summary-missing.md");
    const r = await notify("", { SLACK_WEBHOOK_URL: url, GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(0);
    expect(posts[0]!.body.text).toContain("a release ended without a record");
    expect(await readFile(summary, "utf8")).toContain("The release ended without a record");
  });
});
