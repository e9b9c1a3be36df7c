/**
 * `release-gate notify --record FILE`: tell people how a release ended. Appends the record's Markdown to the job
 * summary ($GITHUB_STEP_SUMMARY) when in GitHub Actions, and posts to Slack when the incoming-webhook URL is set.
 * Optional and best effort: no webhook is not an error; a failed post exits 1 (the workflow step does not fail the
 * release on it) and never prints the webhook URL.
 */
import { appendFile, readFile } from "node:fs/promises";
import type { Command } from "commander";
import { recordToMarkdown } from "../audit/markdown.ts";
import type { ReleaseRecord } from "../audit/record.ts";
import { FailedError } from "../errors.ts";
import { postToSlack, slackMessage } from "../notify/slack.ts";
import { envNameOption, examples, readSecretEnv } from "./common.ts";

interface NotifyFlags {
  record: string;
  webhookEnv: string;
  runUrl?: string;
}

export function register(program: Command): void {
  program
    .command("notify")
    .description(
      "Tell people how a release ended, from the JSON record deploy printed (--json): the job summary in GitHub Actions, and Slack when " +
        "the incoming-webhook URL is set. Exit 0 told (or nothing to tell), 1 Slack could not be told.",
    )
    .requiredOption("--record <file>", "the release record as JSON (deploy --json, rollback --json)")
    .option(
      "--webhook-env <name>",
      "NAME of the environment variable holding the Slack incoming-webhook URL",
      envNameOption,
      "SLACK_WEBHOOK_URL",
    )
    .option("--run-url <url>", "link to the CI run, shown in the message")
    .addHelpText(
      "after",
      examples(
        ["deploy --tag 1.4.2 --json > record.json", "first, the release itself, its record saved"],
        ["notify --record record.json", "then the job summary, and Slack when SLACK_WEBHOOK_URL is set"],
        ['notify --record record.json --run-url "$RUN_URL" --webhook-env OPS_SLACK_URL', "another webhook variable, a link to the run"],
      ),
    )
    .action(async (flags: NotifyFlags) => {
      const webhook = readSecretEnv(flags.webhookEnv);
      let record: ReleaseRecord | undefined;
      let missing: string | undefined;
      try {
        const parsed = JSON.parse(await readFile(flags.record, "utf8")) as ReleaseRecord;
        if (!parsed || typeof parsed.tag !== "string" || typeof parsed.outcome !== "string") throw new Error("not a release record");
        record = parsed;
      } catch (err) {
        missing = `${flags.record}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      }
      const summary = process.env.GITHUB_STEP_SUMMARY;
      if (summary) {
        const md = record
          ? recordToMarkdown(record)
          : `## release-gate: no release record\n\nThe release ended without a record (${missing}). Check the deploy step's log and \`release-gate status\`.\n`;
        await appendFile(summary, md).catch((err: NodeJS.ErrnoException) =>
          process.stderr.write(`release-gate: could not append to the job summary (${err.code ?? err.message})\n`),
        );
      }
      if (!webhook) {
        process.stdout.write(`no Slack webhook (${flags.webhookEnv} is unset): nothing posted\n`);
        return;
      }
      const failure = await postToSlack(
        webhook,
        slackMessage(record, { ...(flags.runUrl ? { runUrl: flags.runUrl } : {}), ...(missing ? { missing } : {}) }),
      );
      if (failure) throw new FailedError(`Slack was not told: ${failure}; the release itself is not affected`);
      process.stdout.write(`told Slack: ${record ? `${record.tag} ${record.outcome}` : "release ended without a record"}\n`);
    });
}
