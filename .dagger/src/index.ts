/**
 * release-gate: take a container image to production on Kubernetes through a canary rollout, with smoke tests
 * after every phase and automatic rollback.
 *
 * Every function runs the release-gate CLI inside the toolbox container (Node 24, kubectl, AWS CLI and the
 * pipeline built from this module's source), so CI, laptops and `dagger call toolbox terminal` share one
 * environment. Functions with side effects or live verdicts are never cached.
 */
import { randomUUID } from "node:crypto";
import {
  argument,
  dag,
  func,
  object,
  ReturnType,
  type Container,
  type Directory,
  type File,
  type Secret,
  type Service,
} from "@dagger.io/dagger";

/** Node 24 on Alpine: the Dagger TypeScript runtime's own base, so the module and the toolbox run the same Node. */
const NODE_IMAGE = "node:24-alpine";
/** Where the module source lives inside the toolbox. */
const APP_DIR = "/opt/release-gate";

/**
 * The host name under which smoke()'s `target` is bound in the toolbox: the URL's own, so requests keep its Host
 * header and TLS server name. Refused when it is localhost or an IP address: the container resolves those itself.
 */
function smokeTargetHost(url: string): string {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    throw new Error(`smoke: --url ${JSON.stringify(url)} is not a URL, so there is no host name to bind --target to`);
  }
  // WHATWG URL parsing normalises every IPv4 form to a dotted quad and keeps IPv6 in brackets.
  if (host === "" || host === "localhost" || host.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    throw new Error(
      `smoke: with --target, the URL needs a host name the toolbox can bind to the target, not ${JSON.stringify(host)} ` +
        "(inside the container that is the container itself); use any name, e.g. --url http://app:3000 --target tcp://localhost:3000",
    );
  }
  return host;
}

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
    /**
     * A service to test instead of what the URL's host name resolves to, e.g. tcp://localhost:3000 for a server on
     * your machine. The URL's host name is bound to it inside the toolbox, so requests keep that Host header (and
     * TLS name) and use the URL's port: --url http://app:3000 --target tcp://localhost:3000, or
     * --url http://app.qualisys.io:8080 --target tcp://localhost:8080 for a local edge routing by host. The name
     * cannot be localhost or an IP address, which the container resolves to itself.
     */
    target?: Service,
  ): Promise<string> {
    const args = [
      "release-gate",
      "smoke",
      "--url",
      url,
      "--timeout",
      String(timeoutMs),
      "--deadline",
      String(deadlineMs),
      "--retries",
      String(retries),
    ];
    let ctr = this.toolbox()
      // A verdict is only true now: bust the layer cache of this exec (the function cache is off already).
      .withEnvVariable("RELEASE_GATE_CACHE_BUSTER", `${Date.now()}-${randomUUID()}`);
    if (target) ctr = ctr.withServiceBinding(smokeTargetHost(url), target);
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
      const hint =
        exitCode === 2 && !token
          ? "\nWith Dagger, pass the token as --token=env://SMOKE_TEST_TOKEN, or skip the check with --skip=user-me."
          : "";
      throw new Error(`${verdict} (exit ${exitCode})\n${stdout}${stderr}${hint}`);
    }
    return stdout;
  }
  /**
   * GitHub environments as code: compare the environments of release.yaml's approvals: with GitHub (exact reviewers,
   * prevent_self_review on, deployment branch main only, no admin bypass), or make GitHub so. Returns the report;
   * fails naming every drift (check) or when GitHub could not be asked. Apply needs a repository admin's token.
   */
  @func({ cache: "never" })
  async githubEnvironments(
    /** The repository as OWNER/REPO, e.g. qualisys/platform. */
    repo: string,
    /** GitHub token (e.g. env://GITHUB_TOKEN); an admin's for apply. Never printed. */
    token: Secret,
    /** Report drift, change nothing. */
    check = false,
    /** Make GitHub match release.yaml, then check again. */
    apply = false,
    /** release.yaml with the approvals: section (default: the repository's kubernetes/production/release.yaml). */
    config?: File,
    /** GitHub API root, e.g. https://ghe.example.com/api/v3 for GitHub Enterprise Server. */
    apiUrl = "https://api.github.com",
    /** Return the drift as JSON. */
    json = false,
  ): Promise<string> {
    const args = ["release-gate", "github-environments", "--repo", repo, "--api-url", apiUrl, "--token-env", "GITHUB_TOKEN"];
    if (check) args.push("--check");
    if (apply) args.push("--apply");
    if (json) args.push("--json");
    let ctr = this.toolbox()
      // GitHub's settings are only true now: bust the layer cache of this exec (the function cache is off already).
      .withEnvVariable("RELEASE_GATE_CACHE_BUSTER", `${Date.now()}-${randomUUID()}`)
      .withSecretVariable("GITHUB_TOKEN", token);
    if (config) {
      ctr = ctr.withMountedFile("/run/release-gate/release.yaml", config);
      args.push("--config", "/run/release-gate/release.yaml");
    }
    const run = ctr.withExec(args, { expect: ReturnType.Any });
    const [exitCode, stdout, stderr] = await Promise.all([run.exitCode(), run.stdout(), run.stderr()]);
    if (exitCode !== 0) {
      const verdict = exitCode === 2 ? "github-environments: could not check (nothing changed)" : "github-environments: drift";
      throw new Error(`${verdict} (exit ${exitCode})\n${stdout}${stderr}`);
    }
    return stdout;
  }
}
