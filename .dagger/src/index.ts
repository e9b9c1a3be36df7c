/**
 * release-gate: take a container image to production on Kubernetes through a canary rollout, with smoke tests
 * after every phase and automatic rollback.
 *
 * Every function runs the release-gate CLI inside the toolbox container (Node 24, kubectl, AWS CLI and the
 * pipeline built from this module's source), so CI, laptops and `dagger call toolbox terminal` share one
 * environment. Functions with side effects or live verdicts are never cached.
 */
import { randomUUID } from "node:crypto";
import { argument, dag, func, object, ReturnType, type Container, type Directory, type File, type Secret } from "@dagger.io/dagger";

/** Node 24 on Alpine: the Dagger TypeScript runtime's own base, so the module and the toolbox run the same Node. */
const NODE_IMAGE = "node:24-alpine";
/** Where the module source lives inside the toolbox. */
const APP_DIR = "/opt/release-gate";

@object()
export class ReleaseGate {
  /** The repository the pipeline is built from. */
  source: Directory;

  constructor(
    /**
     * The release-gate repository (defaults to the one this module lives in); node_modules and .git are left out.
     */
    @argument({ defaultPath: "/", ignore: ["**/node_modules", ".git", ".cache", "coverage", ".dagger/sdk"] })
    source: Directory,
  ) {
    this.source = source;
  }

  /**
   * The toolbox container every function runs in: Node 24 (Alpine), kubectl, the AWS CLI, and the release-gate
   * CLI on PATH, built from the module source with its runtime npm dependencies installed.
   * `dagger call toolbox terminal` opens a shell in it.
   */
  @func()
  toolbox(): Container {
    const src = this.source;
    return (
      dag
        .container()
        .from(NODE_IMAGE)
        .withExec(["apk", "add", "--no-cache", "bash", "ca-certificates", "curl", "kubectl", "aws-cli"])
        .withWorkdir(APP_DIR)
        // Dependencies first, from the lock file alone, so a source edit does not reinstall them.
        .withFile(".dagger/package.json", src.file(".dagger/package.json"))
        .withFile(".dagger/package-lock.json", src.file(".dagger/package-lock.json"))
        .withExec(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--prefix", ".dagger"])
        // The root package.json only for "type": "module" (bin/release-gate.js is ESM).
        .withFile("package.json", src.file("package.json"))
        .withDirectory("bin", src.directory("bin"))
        .withDirectory(".dagger/src", src.directory(".dagger/src"))
        .withDirectory("scripts", src.directory("scripts"))
        .withDirectory("kubernetes", src.directory("kubernetes"))
        .withSymlink(`${APP_DIR}/bin/release-gate.js`, "/usr/local/bin/release-gate")
        .withDefaultTerminalCmd(["bash"])
    );
  }

  /**
   * Run the smoke suite against a URL (the QualiSys critical paths by default) and return the report.
   * Fails when a check fails or the input is bad, with the report and the reason in the error.
   */
  @func({ cache: "never" })
  async smoke(
    /** Base URL to test, http:// or https:// (e.g. https://app.qualisys.io). */
    url: string,
    /** Bearer token for the authenticated check (e.g. env://SMOKE_TEST_TOKEN); never printed. */
    token?: Secret,
    /** Send the canary-routing header so the canary answers directly. */
    canary = false,
    /** Canary-routing header as "Name: value". */
    canaryHeader = "X-Canary: always",
    /** Suite file (YAML or JSON) to run instead of the default QualiSys suite. */
    suite?: File,
    /** Checks not to run, e.g. user-me (no token at hand) or tls. */
    skip?: string[],
    /** Return the report as JSON instead of a table. */
    json = false,
    /** Per-check timeout in milliseconds. */
    timeoutMs = 5000,
    /** Overall deadline for the whole suite in milliseconds. */
    deadlineMs = 30000,
    /** Retries after a connection error (wrong answers are never retried). */
    retries = 2,
    /** Extra trusted CA certificates (PEM) for an https:// URL signed by a private CA. */
    caCert?: File,
  ): Promise<string> {
    const args = ["release-gate", "smoke", "--url", url, "--timeout", String(timeoutMs), "--deadline", String(deadlineMs), "--retries", String(retries)];
    let ctr = this.toolbox()
      // A verdict is only true now: bust the layer cache of this exec (the function cache is off already).
      .withEnvVariable("RELEASE_GATE_CACHE_BUSTER", `${Date.now()}-${randomUUID()}`);
    if (token) {
      ctr = ctr.withSecretVariable("SMOKE_TEST_TOKEN", token);
      args.push("--token-env", "SMOKE_TEST_TOKEN");
    }
    if (canary) args.push("--canary", "--canary-header", canaryHeader);
    if (suite) {
      ctr = ctr.withMountedFile("/run/release-gate/suite.yaml", suite);
      args.push("--suite", "/run/release-gate/suite.yaml");
    }
    if (caCert) {
      ctr = ctr.withMountedFile("/run/release-gate/ca.pem", caCert);
      args.push("--ca-file", "/run/release-gate/ca.pem");
    }
    if (skip?.length) args.push("--skip", skip.join(","));
    if (json) args.push("--json");

    const run = ctr.withExec(args, { expect: ReturnType.Any });
    const [exitCode, stdout, stderr] = await Promise.all([run.exitCode(), run.stdout(), run.stderr()]);
    if (exitCode !== 0) {
      // The report (stdout) says which check failed and why; stderr has the one-line verdict or usage error.
      const verdict = exitCode === 2 ? "smoke: bad input, nothing was sent" : "smoke: checks failed";
      // The CLI's hints name environment variables; from Dagger the token is a Secret argument instead.
      const hint = exitCode === 2 && !token ? "\nWith Dagger, pass the token as --token=env://SMOKE_TEST_TOKEN, or skip the check with --skip=user-me." : "";
      throw new Error(`${verdict} (exit ${exitCode})\n${stdout}${stderr}${hint}`);
    }
    return stdout;
  }
}
