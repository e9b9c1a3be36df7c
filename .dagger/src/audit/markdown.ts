/** The release record as Markdown, for $GITHUB_STEP_SUMMARY and terminals. */
import { analysisToMarkdown } from "../analysis/record.ts";
import { formatDuration } from "../config/duration.ts";
import type { ReleaseRecord } from "./record.ts";

const ICON: Record<ReleaseRecord["outcome"], string> = {
  succeeded: "✅ succeeded",
  "rolled-back": "↩️ rolled back",
  "rollback-failed": "🛑 rollback FAILED",
  "no-change": "➖ no change",
};

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function recordToMarkdown(r: ReleaseRecord): string {
  const lines: string[] = [];
  lines.push(`## release-gate ${r.command} \`${r.tag}\` to ${r.namespace}: ${ICON[r.outcome]}`, "");
  lines.push(`- **Triggered by:** ${cell(r.triggeredBy)}${r.ciRun ? ` (${cell(r.ciRun)})` : ""}`);
  if (r.deployedAs) lines.push(`- **Deployed as:** ${cell(r.deployedAs)}`);
  if (r.approval) lines.push(approvalLine(r.approval));
  lines.push(`- **Started:** ${r.startedAt}${r.durationMs !== undefined ? `, took ${formatDuration(r.durationMs)}` : ""}`);
  if (r.skipCanary) lines.push(`- **Canary skipped:** ${cell(r.skipCanary.reason)}`);
  if (r.rollbackReason) lines.push(`- **Rollback reason:** ${cell(r.rollbackReason)}`);
  if (r.finalState) lines.push(`- **Production now:** ${cell(r.finalState)}`);
  if (r.historyTrimmed) {
    const t = r.historyTrimmed;
    const what = [
      t.olderDropped ? `${t.olderDropped} older record(s) dropped` : "",
      t.detailLeftOut ? "stored without its per-check detail" : "",
    ];
    lines.push(`- **Release history:** ${what.filter(Boolean).join(", ")} to keep ConfigMap release-gate-history under its size limit`);
  }
  lines.push("", "| service | previous | new | digest | stable runs now |", "|---|---|---|---|---|");
  for (const s of r.services) {
    lines.push(
      `| ${s.name} | \`${s.previousImage}\` | \`${s.newImage}\` | ` +
        `${s.digest ? `\`${s.digest.slice(0, 19)}…\`` : "—"} | ${s.finalImage ? `\`${s.finalImage}\`` : "?"} |`,
    );
  }
  if (r.steps.length) {
    lines.push("", "| step | result | duration | smoke | detail |", "|---|---|---|---|---|");
    for (const st of r.steps) {
      const smoke = st.smoke.length ? st.smoke.map((s) => `${s.ok ? "✓" : "✗"} ${s.canary ? "canary " : ""}${s.url}`).join("<br>") : "—";
      const split = st.observedSplit?.map((o) => `${o.service}: ${o.observed.toFixed(1)}% observed of ${o.expected}%`).join("; ");
      const detail = [st.detail, split].filter(Boolean).join("; ");
      lines.push(
        `| ${cell(st.name)} | ${st.result} | ${st.durationMs !== undefined ? formatDuration(st.durationMs) : "—"} | ${cell(smoke)} | ${cell(detail || "")} |`,
      );
    }
  }
  lines.push(...analysisToMarkdown(r.steps));
  const failed = r.steps.flatMap((st) =>
    st.smoke.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${st.name} · ${s.url} · ${c.name}: ${c.reason ?? "failed"}`)),
  );
  if (failed.length) lines.push("", "**Failed smoke checks**", "", ...failed.map((f) => `- ${cell(f)}`));
  return lines.join("\n") + "\n";
}

function approvalLine(a: NonNullable<ReleaseRecord["approval"]>): string {
  const who = a.approvers.map((p) => `${cell(p.login)}${p.environment ? ` (${cell(p.environment)})` : ""}`).join(", ") || "nobody";
  if (a.source === "self-reported") return `- **Approved by (self-reported, not verified):** ${who}`;
  const run = a.runUrl ? `[run${a.runAttempt ? `, attempt ${a.runAttempt}` : ""}](${a.runUrl})` : "the run";
  const started = a.triggeringActor ?? a.actor;
  return `- **Approved by:** ${who}, checked against ${run} on GitHub${started ? `; started by ${cell(started)}` : ""}`;
}

export function historyToMarkdown(records: ReleaseRecord[]): string {
  if (!records.length) return "No releases recorded yet.\n";
  const lines = ["| when | command | tag | outcome | by | took | reason |", "|---|---|---|---|---|---|---|"];
  for (const r of records) {
    lines.push(
      `| ${r.startedAt} | ${r.command} | \`${r.tag}\` | ${ICON[r.outcome]} | ${cell(r.triggeredBy)} | ` +
        `${r.durationMs !== undefined ? formatDuration(r.durationMs) : "—"} | ${cell(r.rollbackReason ?? r.skipCanary?.reason ?? "")} |`,
    );
  }
  return lines.join("\n") + "\n";
}
