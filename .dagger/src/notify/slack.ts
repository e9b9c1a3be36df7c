/**
 * A release's end, told to Slack through an incoming webhook: outcome, version, approvers, duration and the run.
 * Best effort by design: a notification that cannot be sent is reported, never allowed to change a release.
 */
import pRetry, { AbortError } from "p-retry";
import { request } from "undici";
import type { ReleaseRecord } from "../audit/record.ts";
import { formatDuration } from "../config/duration.ts";

const ICON: Record<ReleaseRecord["outcome"], string> = {
  succeeded: ":white_check_mark: released",
  "rolled-back": ":leftwards_arrow_with_hook: rolled back",
  "rollback-failed": ":octagonal_sign: ROLLBACK FAILED",
  "no-change": ":heavy_minus_sign: no change",
};

/** Slack's mrkdwn needs &, < and > escaped in text it did not write. */
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

/** The message for a record, or for a release that ended without one (`missing` says why). */
export function slackMessage(record: ReleaseRecord | undefined, o: { runUrl?: string; missing?: string }): SlackMessage {
  const runUrl = o.runUrl ?? record?.approval?.runUrl;
  const run = runUrl ? ` · <${runUrl}|run>` : "";
  if (!record) {
    const text = `release-gate: a release ended without a record (${o.missing ?? "unknown"}); check the run and \`release-gate status\``;
    return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text: `:warning: ${esc(text)}${run}` } }] };
  }
  const approvers = record.approval?.approvers.map((a) => `${a.login}${a.environment ? ` (${a.environment})` : ""}`).join(", ");
  const fields = [
    `*Version:* \`${esc(record.tag)}\``,
    `*Namespace:* ${esc(record.namespace)}`,
    `*Approved by:* ${approvers ? esc(approvers) + (record.approval?.source === "self-reported" ? " (self-reported)" : "") : "—"}`,
    `*Started by:* ${esc(record.approval?.triggeringActor ?? record.triggeredBy)}`,
    `*Took:* ${record.durationMs !== undefined ? formatDuration(record.durationMs) : "—"}`,
  ];
  const text = `release-gate ${record.command} ${record.tag} to ${record.namespace}: ${record.outcome}`;
  const detail = [
    record.rollbackReason ? `*Reason:* ${esc(record.rollbackReason)}` : "",
    record.finalState ? `*Now:* ${esc(record.finalState)}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `${ICON[record.outcome]} *${esc(record.command)} \`${esc(record.tag)}\`*${run}` } },
      { type: "section", fields: fields.map((f) => ({ type: "mrkdwn", text: f })) },
      ...(detail ? [{ type: "section", text: { type: "mrkdwn", text: detail.slice(0, 2900) } }] : []),
    ],
  };
}

/** Posts to the webhook (retrying connection errors, 429 and 5xx); resolves to an error line, or undefined when sent. */
export async function postToSlack(webhook: string, message: SlackMessage, timeoutMs = 10_000): Promise<string | undefined> {
  try {
    await pRetry(
      async () => {
        const res = await request(webhook, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(message),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const body = (await res.body.text()).slice(0, 200);
        if (res.statusCode === 200) return;
        const err = new Error(`Slack answered ${res.statusCode}${body ? ` (${body})` : ""}`);
        if (res.statusCode === 429 || res.statusCode >= 500) throw err;
        throw new AbortError(err);
      },
      { retries: 2, minTimeout: 200, maxTimeout: 1000 },
    );
    return undefined;
  } catch (err) {
    const e = err as Error & { code?: string };
    return e.code ? `could not reach Slack (${e.code})` : e.message;
  }
}
