/**
 * release-gate: take a container image to production on Kubernetes through a canary rollout (10 % → 50 % → 100 %),
 * with smoke tests after every phase and automatic rollback, and a record of every release.
 *
 * Every function runs the release-gate CLI in the toolbox container (Node 24 and the pipeline built from this
 * module's source), takes the same options as the CLI command of the same name, and returns its summary (JSON with
 * --json). Connection settings come first: `dagger call --kubeconfig=file://… status`, or for EKS
 * `dagger call --eks-cluster=NAME --aws-region=REGION --aws-access-key-id=env://… … deploy --tag=…`. A failed
 * release fails the call with the CLI's own verdict and exit code (1 rolled back, 2 refused).
 */
import { randomUUID } from "node:crypto";
import {
  argument,
  dag,
  ExecError,
  func,
  object,
  ReturnType,
  type Container,
  type Directory,
  type File,
  type Secret,
  type Service,
  type Socket,
} from "@dagger.io/dagger";
import { clusterArgs, connectionProblem, type ConnectionSettings } from "./dagger/connection.ts";
import { failureOf, refusal, type Failure } from "./dagger/failure.ts";
import { githubContextEnv } from "./dagger/github-context.ts";
import { kubectlDownload } from "./dagger/kubectl.ts";
import { parseVersion } from "./config/image-ref.ts";
import { demoAppImage } from "./rehearsal/images.ts";
import { demoFailureArg, rehearse } from "./rehearsal/rehearse.ts";

/**
 * Node 24 on Alpine, pinned by digest: the image Dagger 0.21.8's TypeScript runtime itself runs on
 * (sdk/typescript/runtime/tsdistconsts), so the module and the toolbox run the same Node.
 */
const NODE_IMAGE = "node:24.13.1-alpine@sha256:4f696fbf39f383c1e486030ba6b289a5d9af541642fc78ab197e584a113b9c03";
/** Where the module source lives inside the toolbox. */
const APP_DIR = "/opt/release-gate";
/** Secrets mounted as files live here (tmpfs-backed secret mounts, never in a layer). */
const RUN_DIR = "/run/release-gate";
/** The host name a --kube-api service is bound to inside the toolbox. */
const KUBE_API_HOST = "kube-api";

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

/** The functions that release an image, behind the two-person rule: their GitHub token is --github-token-env. */
const RELEASING = new Set(["deploy", "undo", "canary", "promote"]);

/**
 * The GitHub token as the CLI takes it: a secret variable (GITHUB_TOKEN) whose NAME goes on the command line.
 * Appends `--*-token-env GITHUB_TOKEN` to `args` when there is a token.
 */
function githubSecret(args: string[], token: Secret | undefined): Record<string, Secret> {
  if (!token) return {};
  args.push(RELEASING.has(args[0]!) ? "--github-token-env" : "--token-env", "GITHUB_TOKEN");
  return { GITHUB_TOKEN: token };
}

/** The release-gate pipeline as Dagger functions; the constructor's arguments say which cluster to reach and how. */
@object()
export class ReleaseGate {
  /** The repository files the toolbox is built from (an allow-list; see the constructor). */
  source: Directory;
  kubeconfig?: Secret;
  context?: string;
  kubeApi?: Service;
  tlsServerName?: string;
  eksCluster?: string;
  awsRegion?: string;
  awsAccessKeyId?: Secret;
  awsSecretAccessKey?: Secret;
  awsSessionToken?: Secret;
  awsRoleArn?: string;
  awsWebIdentityToken?: Secret;
  githubActor?: string;
  githubRunUrl?: string;
  githubApiUrl?: string;

  constructor(
    /**
     * The release-gate repository (defaults to the one this module lives in). Only what the toolbox needs is
     * uploaded: package.json, the bin scripts, .dagger's package.json and lock, its TypeScript sources and the kubernetes/ manifests; never
     * a .env, a kubeconfig, keys or anything else, even inside those folders (Dagger does not read .gitignore).
     */
    @argument({
      defaultPath: "/",
      ignore: [
        "**",
        "!package.json",
        "!bin/*.js",
        "!.dagger/package.json",
        "!.dagger/package-lock.json",
        "!.dagger/src/**/*.ts",
        "!kubernetes/**/*.yaml",
        "!kubernetes/**/*.yml",
        "!kubernetes/**/*.json",
        "**/.env*",
        "**/*kubeconfig*",
        "**/*.pem",
        "**/*.key",
        "**/.npmrc",
        "**/node_modules",
      ],
    })
    source: Directory,
    /**
     * Kubeconfig of the cluster (any cluster; credentials embedded, e.g. file://$HOME/.kube/config or
     * env://KUBECONFIG_DATA). Reaches the CLI as a secret variable only. Not with --eks-cluster.
     */
    kubeconfig?: Secret,
    /** Kubeconfig context to use instead of its current-context. */
    context?: string,
    /**
     * The API server of a cluster on your machine (kind) as a host service, e.g. tcp://localhost:6443: the
     * kubeconfig's server is reached through it, keeping its CA and credentials. Use with --tls-server-name.
     */
    kubeApi?: Service,
    /** TLS server name to verify the API server's certificate against when reached through --kube-api (kind: localhost). */
    tlsServerName?: string,
    /** EKS cluster name (not its ARN): endpoint and CA come from eks:DescribeCluster, tokens from STS. Needs --aws-region and credentials. */
    eksCluster?: string,
    /** The EKS cluster's AWS region, e.g. eu-west-1. */
    awsRegion?: string,
    /** AWS access key id (e.g. env://AWS_ACCESS_KEY_ID, as aws-actions/configure-aws-credentials exports it). */
    awsAccessKeyId?: Secret,
    /** AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY). */
    awsSecretAccessKey?: Secret,
    /** AWS session token of temporary credentials (e.g. env://AWS_SESSION_TOKEN). */
    awsSessionToken?: Secret,
    /** IAM role to assume with --aws-web-identity-token (GitHub OIDC), e.g. arn:aws:iam::123456789012:role/release-gate-deployer. */
    awsRoleArn?: string,
    /** A web identity token (the GitHub OIDC JWT) for --aws-role-arn; mounted as a secret file, never printed. */
    awsWebIdentityToken?: Secret,
    /**
     * Who started the GitHub Actions run calling the module (pass $GITHUB_ACTOR): release records and the release lock
     * name them. A function sees nothing of its caller's environment, so without it a record made through Dagger
     * names the toolbox's user.
     */
    githubActor?: string,
    /**
     * The GitHub Actions run calling the module, $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID:
     * records link to it, and deploy, undo, canary and promote check its approvals (the two-person rule), as they do
     * inside Actions.
     */
    githubRunUrl?: string,
    /**
     * GitHub's REST API root (pass $GITHUB_API_URL), where the run's approvals are read; default: derived from
     * --github-run-url's server (api.github.com for github.com, HOST/api/v3 for GitHub Enterprise Server).
     */
    githubApiUrl?: string,
  ) {
    this.source = source;
    this.kubeconfig = kubeconfig;
    this.context = context;
    this.kubeApi = kubeApi;
    this.tlsServerName = tlsServerName;
    this.eksCluster = eksCluster;
    this.awsRegion = awsRegion;
    this.awsAccessKeyId = awsAccessKeyId;
    this.awsSecretAccessKey = awsSecretAccessKey;
    this.awsSessionToken = awsSessionToken;
    this.awsRoleArn = awsRoleArn;
    this.awsWebIdentityToken = awsWebIdentityToken;
    this.githubActor = githubActor;
    this.githubRunUrl = githubRunUrl;
    this.githubApiUrl = githubApiUrl;
  }

  /**
   * The toolbox: Node 24 (Alpine, pinned by digest), the release-gate CLI built from the module source, and kubectl
   * (pinned and checksum-verified, for linux/amd64 and linux/arm64 engines). `dagger call toolbox terminal` opens a
   * shell in it with the cluster settings given to the module, which are checked first like every function's
   * (kubectl users: `release-gate eks-token` makes EKS tokens; there is no AWS CLI). No cluster setting is needed.
   */
  @func()
  async toolbox(): Promise<Container> {
    // Missing or conflicting settings: refused before anything is built, as run() does for the functions.
    const problem = connectionProblem(this.settings(), false);
    if (problem) throw this.error(refusal(`toolbox: ${problem}; nothing was built`));
    const download = kubectlDownload(String(await dag.defaultPlatform()));
    if ("problem" in download) throw this.error(refusal(`toolbox: ${download.problem}`));
    const kubectl = dag.http(download.url, { checksum: download.checksum, permissions: 0o755 });
    return (await this.connected(this.cli()))
      .withFile("/usr/local/bin/kubectl", kubectl)
      .withExec(["kubectl", "version", "--client"])
      .withDefaultTerminalCmd(["sh"]);
  }

  /**
   * Release an image: preflight, the canary phases of release.yaml with smoke tests and health watch, promote, and
   * the release record. Rolls back by itself on any failure: the call then fails with the CLI's verdict (exit 1);
   * bad input or settings are refused before anything changes (exit 2). Never cached.
   */
  @func({ cache: "never" })
  async deploy(
    /** Image tag (OCI tag grammar) or sha256: digest to release. */
    tag: string,
    /** Emergency hotfix: straight to promote with smoke tests (needs --reason). */
    skipCanary = false,
    /** Why the canary is skipped (recorded). */
    reason?: string,
    /** Roll back an interrupted release first, then deploy. */
    repair = false,
    /** Continue the interrupted release of this same tag from the step it stopped in. */
    resume = false,
    /** Release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it. */
    allowMutableTag = false,
    /** Smoke-test bearer token (e.g. env://SMOKE_TEST_TOKEN); reaches the CLI as a secret variable, never printed. */
    token?: Secret,
    /** release.yaml to use instead of the repository's kubernetes/production/release.yaml. */
    config?: File,
    /** Return the release record as JSON instead of Markdown. */
    json = false,
    /**
     * The GitHub workflow run this release belongs to (OWNER/REPO/RUN_ID or its URL): its approvals must satisfy
     * release.yaml's two-person rule before anything changes (else the call fails with exit 2).
     */
    githubRun?: string,
    /** GitHub token that reads the run's approvals (actions: read), e.g. env://GITHUB_TOKEN; never printed. */
    githubToken?: Secret,
  ): Promise<string> {
    const args = ["deploy", "--tag", tag];
    if (githubRun !== undefined) args.push("--github-run", githubRun);
    if (skipCanary) args.push("--skip-canary");
    if (reason !== undefined) args.push("--reason", reason);
    if (repair) args.push("--repair");
    if (resume) args.push("--resume");
    if (allowMutableTag) args.push("--allow-mutable-tag");
    return this.run(args, { token, config, json, cluster: true, live: true, secrets: githubSecret(args, githubToken) });
  }

  /**
   * One canary step: size the canary for a weight, wait until it is Available, shift that weight, verify and
   * smoke-test; rolls back on failure. The release stays in flight for promote or rollback. Never cached.
   */
  @func({ cache: "never" })
  async canary(
    /** Image tag or sha256: digest. */
    tag: string,
    /** Canary weight, 1..100. */
    weight: number,
    /** Release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it. */
    allowMutableTag = false,
    /** Smoke-test bearer token (e.g. env://SMOKE_TEST_TOKEN). */
    token?: Secret,
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the release record as JSON. */
    json = false,
    /**
     * The GitHub workflow run this canary step belongs to (OWNER/REPO/RUN_ID or its URL): its approvals must satisfy
     * release.yaml's two-person rule before anything changes (else the call fails with exit 2).
     */
    githubRun?: string,
    /** GitHub token that reads the run's approvals (actions: read), e.g. env://GITHUB_TOKEN; never printed. */
    githubToken?: Secret,
  ): Promise<string> {
    const args = ["canary", "--tag", tag, "--weight", String(weight)];
    if (githubRun !== undefined) args.push("--github-run", githubRun);
    if (allowMutableTag) args.push("--allow-mutable-tag");
    return this.run(args, { token, config, json, cluster: true, live: true, secrets: githubSecret(args, githubToken) });
  }

  /**
   * Promote a canary that passed at weight 100: stable gets its image, traffic goes back to stable, the canary is
   * scaled to 0; stable is restored on failure. Never cached.
   */
  @func({ cache: "never" })
  async promote(
    /** The tag whose canary is in flight. */
    tag: string,
    /** Release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it. */
    allowMutableTag = false,
    /** Smoke-test bearer token (e.g. env://SMOKE_TEST_TOKEN). */
    token?: Secret,
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the release record as JSON. */
    json = false,
    /**
     * The GitHub workflow run this promotion belongs to (OWNER/REPO/RUN_ID or its URL): its approvals must satisfy
     * release.yaml's two-person rule before anything changes (else the call fails with exit 2).
     */
    githubRun?: string,
    /** GitHub token that reads the run's approvals (actions: read), e.g. env://GITHUB_TOKEN; never printed. */
    githubToken?: Secret,
  ): Promise<string> {
    const args = ["promote", "--tag", tag];
    if (githubRun !== undefined) args.push("--github-run", githubRun);
    if (allowMutableTag) args.push("--allow-mutable-tag");
    return this.run(args, { token, config, json, cluster: true, live: true, secrets: githubSecret(args, githubToken) });
  }

  /**
   * Put production back on a healthy stable from any state: weight 0 verified, canary scaled to 0, stable's
   * previous template restored if promotion had started; takes the lock over from a dead run. Never waits for
   * approvals (no two-person rule, on purpose: taking traffic away must never wait). Never cached.
   */
  @func({ cache: "never" })
  async rollback(
    /** Why (recorded). */
    reason?: string,
    /** Emergency: take the lock even from a live run, which then stops without rolling back. */
    force = false,
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the release record as JSON. */
    json = false,
  ): Promise<string> {
    const args = ["rollback"];
    if (reason !== undefined) args.push("--reason", reason);
    if (force) args.push("--force");
    return this.run(args, { config, json, cluster: true, live: true });
  }

  /**
   * Take back the last release: release the image each stable ran before it (from the release history) through the
   * same canary phases as deploy, then promote; rolls back by itself on any failure (exit 1). Refused (exit 2,
   * nothing changed) when there is nothing sure to take back. Never cached.
   */
  @func({ cache: "never" })
  async undo(
    /** Emergency: straight to promote with smoke tests (needs --reason). */
    skipCanary = false,
    /** Why the release is taken back (recorded). */
    reason?: string,
    /** Say what undo would take back and release; change nothing. */
    dryRun = false,
    /** Smoke-test bearer token (e.g. env://SMOKE_TEST_TOKEN); reaches the CLI as a secret variable, never printed. */
    token?: Secret,
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the release record as JSON instead of Markdown. */
    json = false,
    /**
     * The GitHub workflow run this undo belongs to (OWNER/REPO/RUN_ID or its URL): its approvals must satisfy
     * release.yaml's two-person rule before anything changes (else the call fails with exit 2).
     */
    githubRun?: string,
    /** GitHub token that reads the run's approvals (actions: read), e.g. env://GITHUB_TOKEN; never printed. */
    githubToken?: Secret,
  ): Promise<string> {
    const args = ["undo"];
    if (githubRun !== undefined) args.push("--github-run", githubRun);
    if (skipCanary) args.push("--skip-canary");
    if (reason !== undefined) args.push("--reason", reason);
    if (dryRun) args.push("--dry-run");
    return this.run(args, { token, config, json, cluster: true, live: true, secrets: githubSecret(args, githubToken) });
  }

  /**
   * What production runs now: images and replicas, canary weights, whether production is healthy, the release lock
   * (and whether its run is alive), any release in flight with the ways out, drift from the last release. Never cached.
   */
  @func({ cache: "never" })
  async status(
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the status as JSON. */
    json = false,
    /**
     * Follow the release in flight until it ends (one line per change): the call succeeds when it was promoted,
     * fails with exit 1 when it was rolled back or its run died, with exit 2 when there is nothing to watch.
     */
    watch = false,
  ): Promise<string> {
    return this.run(["status", ...(watch ? ["--watch"] : [])], { config, json, cluster: true, live: true });
  }

  /** The recorded releases (ConfigMap release-gate-history), newest first. Never cached. */
  @func({ cache: "never" })
  async history(
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the records as JSON. */
    json = false,
    /** Show only the newest N records (default: every record kept, release.yaml's historyLimit). */
    limit?: number,
  ): Promise<string> {
    return this.run(["history", ...(limit !== undefined ? ["--limit", String(limit)] : [])], { config, json, cluster: true, live: true });
  }

  /**
   * What deploy --tag would do, step by step, and its worst-case duration; fails (exit 2) when that exceeds the
   * budget. Reads only release.yaml, so the answer may be cached with the source.
   */
  @func()
  async plan(
    /** Image tag or sha256: digest. */
    tag: string,
    /** Plan an emergency release without canary phases. */
    skipCanary = false,
    /** Release a tag that moves (`latest`, or one release.yaml's mutableTags names) on purpose; refused (exit 2) without it. */
    allowMutableTag = false,
    /** release.yaml to use instead of the repository's. */
    config?: File,
    /** Return the plan as JSON. */
    json = false,
  ): Promise<string> {
    const args = ["plan", "--tag", tag];
    if (skipCanary) args.push("--skip-canary");
    if (allowMutableTag) args.push("--allow-mutable-tag");
    return this.run(args, { config, json, cluster: false, live: false });
  }

  /**
   * Run the smoke suite against a URL (the QualiSys critical paths by default) and return the report. Fails when a
   * check fails (exit 1) or the input is bad (exit 2, nothing sent), with the report and the reason. Never cached.
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
    /** Extra request headers, each "Name: value". */
    header?: string[],
    /** Return the report as JSON instead of a table. */
    json = false,
    /** Per-check timeout in milliseconds. */
    timeout = 5000,
    /** Overall deadline for the whole suite in milliseconds. */
    deadline = 30000,
    /** Retries after a connection error (wrong answers are never retried). */
    retries = 2,
    /** Extra trusted CA certificates (PEM) for an https:// URL signed by a private CA. */
    caFile?: File,
    /**
     * A service to test instead of what the URL's host name resolves to, e.g. tcp://localhost:3000 for a server on
     * your machine. The URL's host name is bound to it inside the toolbox, so requests keep that Host header (and
     * TLS name) and use the URL's port: --url http://app:3000 --target tcp://localhost:3000, or
     * --url http://app.qualisys.io:8080 --target tcp://localhost:8080 for a local edge routing by host. The name
     * cannot be localhost or an IP address, which the container resolves to itself.
     */
    target?: Service,
  ): Promise<string> {
    const args = ["smoke", "--url", url, "--timeout", String(timeout), "--deadline", String(deadline), "--retries", String(retries)];
    const mounts: Array<(c: Container) => Container> = [];
    if (target) {
      let host: string;
      try {
        host = smokeTargetHost(url);
      } catch (err) {
        throw this.error(refusal((err as Error).message));
      }
      mounts.push((c) => c.withServiceBinding(host, target));
    }
    if (canary) args.push("--canary", "--canary-header", canaryHeader);
    if (suite) {
      mounts.push((c) => c.withMountedFile(`${RUN_DIR}/suite.yaml`, suite));
      args.push("--suite", `${RUN_DIR}/suite.yaml`);
    }
    if (caFile) {
      mounts.push((c) => c.withMountedFile(`${RUN_DIR}/ca.pem`, caFile));
      args.push("--ca-file", `${RUN_DIR}/ca.pem`);
    }
    if (skip?.length) args.push("--skip", skip.join(","));
    for (const h of header ?? []) args.push("--header", h);
    try {
      return await this.run(args, { token, json, cluster: false, live: true, mounts });
    } catch (err) {
      // The CLI's hints name environment variables; from Dagger the token is a Secret argument instead.
      if (err instanceof ExecError && err.exitCode === 2 && !token && /SMOKE_TEST_TOKEN/.test(err.stderr)) {
        throw this.error({
          message: `${err.message}; with Dagger, pass the token as --token=env://SMOKE_TEST_TOKEN, or skip the check with --skip=user-me`,
          extensions: { _type: "EXEC_ERROR", exitCode: 2, stdout: err.stdout, stderr: err.stderr },
        });
      }
      throw err;
    }
  }

  /**
   * Rehearse a release on a kind cluster on this machine: create (or reuse) it from kubernetes/local/kind.yaml,
   * install the router, build the demo app in two good versions and a bad one and load them into kind, apply
   * kubernetes/local's overlay of kubernetes/production, then release the good version through every phase (it must
   * be promoted) and the bad one (it must be rolled back by itself). Prints the timeline: each phase, weight,
   * observed split, smoke results, time to detect the failure, time until traffic was back on stable, total time.
   * Refuses anything but a kind cluster on loopback (exit 2); a story that goes otherwise fails the call (exit 1).
   * Needs Docker: dagger call --kube-api=tcp://localhost:6443 rehearse --docker-socket=/var/run/docker.sock
   * --edge=tcp://localhost:8080. Never cached.
   */
  @func({ cache: "never" })
  async rehearse(
    /** The Docker engine's socket kind creates its node container with, e.g. /var/run/docker.sock. */
    dockerSocket: Socket,
    /**
     * The router's port on this machine as a host service, e.g. tcp://localhost:8080: kind publishes the cluster's
     * edge there (127.0.0.1 only), and the smoke tests and traffic sampling go through it.
     */
    edge: Service,
    /** The router to install and release through: ingress-nginx, or gateway-api (Envoy Gateway). */
    router = "ingress-nginx",
    /** How the bad version fails: crash-loop, failing-health, wrong-login, server-errors (5xx on some requests) or slow. */
    failure = "crash-loop",
    /** The kind cluster's name: created when absent, reused (its app namespace reset) when present. */
    clusterName = "release-gate-rehearsal",
    /** Delete the kind cluster at the end (by default it is kept, to look around and to rehearse again faster). */
    deleteCluster = false,
  ): Promise<string> {
    const outcome = await rehearse(
      {
        source: this.source,
        settings: this.settings(),
        cli: () => this.cli(),
        connect: (c) => this.connected(c),
        nodeImage: NODE_IMAGE,
      },
      { dockerSocket, edge, router, failure, clusterName, deleteCluster },
    );
    if ("failure" in outcome) throw this.error(outcome.failure);
    return outcome.timeline;
  }

  /**
   * The demo app image the rehearsal releases (the same app answers for the simulator's pods): Node 24 pinned by
   * digest, the smoke endpoints, its version in X-App-Version and /api/health, misbehaving as --failure says. Try it:
   * dagger call demo-app --version=2.1.0 --failure=wrong-login as-service up --ports=3000:3000
   */
  @func()
  demoApp(
    /** The version it reports (an OCI tag). */
    version = "1.0.0",
    /** none, or how it fails: crash-loop, failing-health, wrong-login, server-errors or slow. */
    failure = "none",
  ): Container {
    try {
      parseVersion(version);
    } catch (err) {
      throw this.error(refusal(`release-gate demo-app: ${(err as Error).message}`));
    }
    const f = demoFailureArg(failure, true);
    if (f && typeof f === "object") throw this.error({ ...f, message: `release-gate demo-app: ${f.message}` });
    return demoAppImage(NODE_IMAGE, this.source, version, f);
  }

  /** Node 24 and the CLI, from the allow-listed source, dependencies installed from the lock file alone. */
  private cli(): Container {
    const src = this.source;
    return (
      dag
        .container()
        .from(NODE_IMAGE)
        // Credentials come only from the module's arguments: never ask an instance-metadata service.
        .withEnvVariable("AWS_EC2_METADATA_DISABLED", "true")
        .withWorkdir(APP_DIR)
        // Dependencies first, from the lock file alone, so a source edit does not reinstall them.
        .withFile(".dagger/package.json", src.file(".dagger/package.json"))
        .withFile(".dagger/package-lock.json", src.file(".dagger/package-lock.json"))
        .withExec(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--prefix", ".dagger"])
        // The root package.json only for "type": "module" (bin/release-gate.js is ESM).
        .withFile("package.json", src.file("package.json"))
        .withDirectory("bin", src.directory("bin"))
        .withDirectory(".dagger/src", src.directory(".dagger/src"))
        .withDirectory("kubernetes", src.directory("kubernetes"))
        .withSymlink(`${APP_DIR}/bin/release-gate.js`, "/usr/local/bin/release-gate")
    );
  }

  /** What was given to the constructor, for the checks. */
  private settings(): ConnectionSettings {
    return {
      kubeconfig: this.kubeconfig !== undefined && this.kubeconfig !== null,
      ...(this.context ? { context: this.context } : {}),
      kubeApi: this.kubeApi !== undefined && this.kubeApi !== null,
      ...(this.tlsServerName ? { tlsServerName: this.tlsServerName } : {}),
      ...(this.eksCluster ? { eksCluster: this.eksCluster } : {}),
      ...(this.awsRegion ? { awsRegion: this.awsRegion } : {}),
      awsAccessKeyId: !!this.awsAccessKeyId,
      awsSecretAccessKey: !!this.awsSecretAccessKey,
      awsSessionToken: !!this.awsSessionToken,
      ...(this.awsRoleArn ? { awsRoleArn: this.awsRoleArn } : {}),
      awsWebIdentityToken: !!this.awsWebIdentityToken,
    };
  }

  /**
   * Check a GitHub workflow run against release.yaml's two-person rule (approvals:): every environment approved by
   * one of its reviewers, a different person for each, none of them the run's actor or triggering actor, no
   * rejection. Returns who approved what; fails with exit 1 when the rule is not satisfied, 2 when it cannot check.
   */
  @func({ cache: "never" })
  async approvals(
    /** The repository as OWNER/REPO, e.g. qualisys/platform. */
    repo: string,
    /** The workflow run id (GITHUB_RUN_ID in Actions). */
    runId: string,
    /** GitHub token that reads the run and its approvals (actions: read), e.g. env://GITHUB_TOKEN; never printed. */
    token: Secret,
    /** release.yaml with the approvals: section (default: the repository's kubernetes/production/release.yaml). */
    config?: File,
    /** GitHub API root (default https://api.github.com; e.g. https://ghe.example.com/api/v3 for GitHub Enterprise Server). */
    apiUrl?: string,
    /** Return the verdict as JSON. */
    json = false,
  ): Promise<string> {
    const args = ["approvals", "--repo", repo, "--run-id", runId, ...(apiUrl !== undefined ? ["--api-url", apiUrl] : [])];
    return this.run(args, { config, json, cluster: false, live: true, secrets: githubSecret(args, token) });
  }

  /**
   * GitHub environments as code: compare the environments of release.yaml's approvals: with GitHub (exact reviewers,
   * prevent_self_review on, deployment branch approvals.branch only, no admin bypass), or make GitHub so. Returns the report;
   * fails naming every drift (check, exit 1) or when GitHub could not be asked (exit 2). Apply needs a repository
   * admin's token.
   */
  @func({ cache: "never" })
  async githubEnvironments(
    /** The repository as OWNER/REPO, e.g. qualisys/platform. */
    repo: string,
    /** GitHub token (e.g. env://GITHUB_TOKEN); a repository admin's for apply. Never printed. */
    token: Secret,
    /** Report drift, change nothing. */
    check = false,
    /** Make GitHub match release.yaml, then check again. */
    apply = false,
    /** release.yaml with the approvals: section (default: the repository's kubernetes/production/release.yaml). */
    config?: File,
    /** GitHub API root (default https://api.github.com; e.g. https://ghe.example.com/api/v3 for GitHub Enterprise Server). */
    apiUrl?: string,
    /** Return the drift as JSON. */
    json = false,
  ): Promise<string> {
    const args = ["github-environments", "--repo", repo, ...(apiUrl !== undefined ? ["--api-url", apiUrl] : [])];
    if (check) args.push("--check");
    if (apply) args.push("--apply");
    return this.run(args, { config, json, cluster: false, live: true, secrets: githubSecret(args, token) });
  }

  /** The container with the cluster settings: secrets as secret variables or mounted secret files only. */
  private async connected(ctr: Container): Promise<Container> {
    let c = ctr;
    // The GitHub context as the CLI reads it in any Actions job: plain variables (no secret in them).
    const github = githubContextEnv({
      ...(this.githubActor ? { actor: this.githubActor } : {}),
      ...(this.githubRunUrl ? { runUrl: this.githubRunUrl } : {}),
      ...(this.githubApiUrl ? { apiUrl: this.githubApiUrl } : {}),
    });
    if ("problem" in github) throw this.error(refusal(`${github.problem}; nothing was run`));
    for (const [name, value] of Object.entries(github.env)) c = c.withEnvVariable(name, value);
    if (this.kubeconfig) c = c.withSecretVariable("RELEASE_GATE_KUBECONFIG", this.kubeconfig);
    if (this.kubeApi) {
      const [port] = await this.kubeApi.ports();
      if (!port) throw this.error(refusal("--kube-api: the service exposes no port; pass tcp://localhost:PORT"));
      c = c
        .withServiceBinding(KUBE_API_HOST, this.kubeApi)
        .withEnvVariable("RELEASE_GATE_KUBE_API", `${KUBE_API_HOST}:${await port.port()}`);
      if (this.tlsServerName) c = c.withEnvVariable("RELEASE_GATE_TLS_SERVER_NAME", this.tlsServerName);
    }
    if (this.awsAccessKeyId) c = c.withSecretVariable("AWS_ACCESS_KEY_ID", this.awsAccessKeyId);
    if (this.awsSecretAccessKey) c = c.withSecretVariable("AWS_SECRET_ACCESS_KEY", this.awsSecretAccessKey);
    if (this.awsSessionToken) c = c.withSecretVariable("AWS_SESSION_TOKEN", this.awsSessionToken);
    if (this.awsRoleArn && this.awsWebIdentityToken) {
      // The SDK's standard chain assumes the role itself (AssumeRoleWithWebIdentity) from these.
      c = c
        .withMountedSecret(`${RUN_DIR}/aws-web-identity-token`, this.awsWebIdentityToken)
        .withEnvVariable("AWS_WEB_IDENTITY_TOKEN_FILE", `${RUN_DIR}/aws-web-identity-token`)
        .withEnvVariable("AWS_ROLE_ARN", this.awsRoleArn)
        .withEnvVariable("AWS_ROLE_SESSION_NAME", "release-gate");
    }
    return c;
  }

  /**
   * Runs `release-gate <args>` in the toolbox and returns its stdout; a non-zero exit fails the call with the CLI's
   * verdict and exit code. `live`: the answer is only true now, so the exec gets a cache buster.
   */
  private async run(
    args: string[],
    o: {
      token?: Secret;
      config?: File;
      json: boolean;
      cluster: boolean;
      live: boolean;
      mounts?: Array<(c: Container) => Container>;
      /** Secret environment variables for the CLI (the argv names the variable, never the value). */
      secrets?: Record<string, Secret>;
    },
  ): Promise<string> {
    // Missing or conflicting settings: refused before anything is built or run.
    const problem = connectionProblem(this.settings(), o.cluster);
    if (problem) throw this.error(refusal(`release-gate ${args[0]}: ${problem}; nothing was run`));
    const argv = ["release-gate", ...args];
    if (o.cluster) argv.push(...clusterArgs(this.settings()));
    let c = o.cluster ? await this.connected(this.cli()) : this.cli();
    for (const m of o.mounts ?? []) c = m(c);
    for (const [name, secret] of Object.entries(o.secrets ?? {})) c = c.withSecretVariable(name, secret);
    if (o.token) {
      c = c.withSecretVariable("SMOKE_TEST_TOKEN", o.token);
      argv.push("--token-env", "SMOKE_TEST_TOKEN");
    }
    if (o.config) {
      c = c.withMountedFile(`${RUN_DIR}/release.yaml`, o.config);
      argv.push("--config", `${RUN_DIR}/release.yaml`);
    }
    if (o.json) argv.push("--json");
    // Function caching is off for these already; this makes the exec itself run again too.
    if (o.live) c = c.withEnvVariable("RELEASE_GATE_CACHE_BUSTER", `${Date.now()}-${randomUUID()}`);
    const run = c.withExec(argv, { expect: ReturnType.Any });
    const [exitCode, stdout, stderr] = await Promise.all([run.exitCode(), run.stdout(), run.stderr()]);
    if (exitCode !== 0) throw this.error(failureOf(args[0], { exitCode, stdout, stderr }));
    return stdout;
  }

  /** An error `dagger call` exits with `exitCode` for (see dagger/failure.ts). */
  private error(f: Failure): ExecError {
    return new ExecError(f.message, {
      cmd: [],
      exitCode: f.extensions.exitCode,
      stdout: f.extensions.stdout,
      stderr: f.extensions.stderr,
      extensions: f.extensions,
    });
  }
}
