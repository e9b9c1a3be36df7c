/** `release-gate smoke`: run the smoke suite against a URL and exit 0 (all passed), 1 (a check failed) or 2 (bad input). */
import { Option, type Command } from "commander";
import { FailedError, UsageError } from "../errors.ts";
// Not smoke/index.ts: the suite schema (zod) and YAML parser load only when --suite names a file, so a plain
// `release-gate smoke` starts fast (it runs after every phase and in people's shells).
import { qualisysSuite } from "../smoke/default-suite.ts";
import { renderTable, toJSON } from "../smoke/report.ts";
import { DEFAULTS, parseBaseUrl, runSmokeSuite } from "../smoke/runner.ts";
import { collect, envNameOption, examples, headerOption, intOption, listOption, output, readOptionFile, readSecretEnv } from "./common.ts";

interface SmokeFlags {
  url: string;
  canary?: boolean;
  canaryHeader: { name: string; value: string };
  tokenEnv: string;
  suite?: string;
  skip?: string[];
  header?: Array<{ name: string; value: string }>;
  json?: boolean;
  timeout: number;
  deadline: number;
  retries: number;
  caFile?: string;
}

export function register(program: Command): void {
  program
    .command("smoke")
    .description(
      "Run the smoke suite against a URL (QualiSys critical paths by default): checks run concurrently; " +
        "exit 0 when all pass, 1 when one fails, 2 on bad usage or input (nothing is sent).",
    )
    .requiredOption("--url <url>", "base URL to test, http:// or https:// (e.g. https://app.qualisys.io)")
    .option("--canary", "send the canary-routing header so the canary answers directly")
    .addOption(
      new Option("--canary-header <header>", 'canary-routing header as "Name: value"')
        .argParser(headerOption)
        .default({ name: "X-Canary", value: "always" }, '"X-Canary: always"'),
    )
    .option("--token-env <name>", "NAME of the environment variable holding the bearer token", envNameOption, "SMOKE_TEST_TOKEN")
    .option("--suite <file>", "suite file (YAML or JSON) to run instead of the default QualiSys suite")
    .option("--skip <checks>", "comma-separated checks not to run (e.g. user-me, tls); repeatable", listOption)
    .option("--header <header>", 'extra request header "Name: value"; repeatable', collect(headerOption))
    .option("--json", "print the report as JSON instead of a table")
    .option("--timeout <ms>", "per-check timeout in milliseconds", intOption(1), DEFAULTS.timeoutMs)
    .option("--deadline <ms>", "overall deadline for the whole suite in milliseconds", intOption(1), DEFAULTS.deadlineMs)
    .option("--retries <n>", "retries after a connection error (wrong answers are never retried)", intOption(0), DEFAULTS.retries)
    .option("--ca-file <pem>", "extra trusted CA certificates (PEM), added to the system store")
    .addHelpText(
      "after",
      examples(
        ["smoke --url https://app.qualisys.io", "the QualiSys suite; token from $SMOKE_TEST_TOKEN"],
        ["smoke --url https://app.qualisys.io --canary", "ask the canary directly (X-Canary: always)"],
        ["smoke --url https://app.qualisys.io --skip user-me --json", "no token at hand; a report for scripts"],
        ["smoke --url http://127.0.0.1:3000 --suite smoke.yaml", "your own suite against a local server"],
      ) +
        "\n\nThe token goes over https, or over plain http only to loopback (localhost, 127.0.0.0/8, ::1); it never appears in any output.",
    )
    .action(async (flags: SmokeFlags) => {
      // Validate everything first: a usage error must come before any request.
      const baseUrl = parseBaseUrl(flags.url);
      const suite = flags.suite ? await (await import("../smoke/suite.ts")).loadSuite(flags.suite) : qualisysSuite;
      const ca = flags.caFile ? await readOptionFile("--ca-file", flags.caFile) : undefined;
      const skip = flags.skip ?? [];
      const token = readSecretEnv(flags.tokenEnv);
      const needsToken = suite.checks.find((c) => c.auth === "bearer" && !skip.includes(c.name));
      if (needsToken && !token) {
        throw new UsageError(
          `environment variable ${flags.tokenEnv} is not set: check "${needsToken.name}" sends a bearer token; ` +
            `export ${flags.tokenEnv}, name another variable with --token-env, or skip the check with --skip ${needsToken.name}`,
        );
      }
      const report = await runSmokeSuite({
        baseUrl,
        suite,
        token,
        skip,
        ca,
        extraHeaders: Object.fromEntries((flags.header ?? []).map((h) => [h.name, h.value])),
        canary: flags.canary ? flags.canaryHeader : undefined,
        timeoutMs: flags.timeout,
        deadlineMs: flags.deadline,
        retries: flags.retries,
      });
      output(
        flags,
        () => renderTable(report),
        () => toJSON(report),
      );
      if (!report.ok) {
        const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
        throw new FailedError(
          `smoke failed: ${failed.length} of ${report.checks.length} checks failed (${failed.join(", ")}) against ${report.url}`,
        );
      }
    });
}
