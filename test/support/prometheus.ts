/**
 * A REAL Prometheus server for the metric-analysis tests and bench: Debian's `prometheus` package, installed by
 * the test command itself when the binary is missing (apt-get as root, or through passwordless sudo, as on
 * GitHub's runners); otherwise a clear error, never a skip. Each server gets a generated config scraping its
 * targets every second (a file_sd file, so targets known only later, such as a simulator's metrics port, are
 * added with `setTargets`), a free loopback port and its own temporary storage; `stop()` ends it, removes it all.
 */
import { constants } from "node:fs";
import { access, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { stringify } from "yaml";

const BINARY = "prometheus";
/** Debian's apt waits this long for another dpkg/apt run (a parallel test worker) instead of failing on its lock. */
const APT_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=300"];

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"]) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** apt-get directly as root, through `sudo -n` where that works without a password, else undefined. */
async function aptRunner(): Promise<((args: string[]) => ResultPromise) | undefined> {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (process.getuid?.() === 0) return (args) => execa("apt-get", [...APT_LOCK_WAIT, ...args], { env, reject: false, all: true });
  const sudo = await execa("sudo", ["-n", "true"], { reject: false }).catch(() => undefined);
  if (sudo?.exitCode === 0)
    return (args) =>
      execa("sudo", ["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", ...APT_LOCK_WAIT, ...args], { reject: false, all: true });
  return undefined;
}

let installing: Promise<string> | undefined;

/**
 * The path of the prometheus binary, installing Debian's package first when it is missing. Throws, saying how
 * to install it, when it is missing and this user cannot install packages.
 */
export function ensurePrometheus(): Promise<string> {
  installing ??= (async () => {
    const found = await onPath(BINARY);
    if (found) return found;
    const apt = await aptRunner();
    if (!apt) {
      throw new Error(
        "the metric-analysis tests need a real Prometheus server and `prometheus` is not installed; this user is not root and has no " +
          "passwordless sudo, so the test command cannot install it: run `sudo apt-get install -y --no-install-recommends prometheus` " +
          "(Debian/Ubuntu) or put a prometheus 2.x binary on PATH, then run the tests again",
      );
    }
    const install = ["install", "-y", "--no-install-recommends", BINARY];
    let r = await apt(install);
    // A fresh machine may have no package lists yet ("Unable to locate package"); another worker may be
    // refreshing them at this very moment, so one more try follows a short wait.
    if (r.exitCode !== 0) {
      await apt(["update"]);
      r = await apt(install);
    }
    if (r.exitCode !== 0 && !(await onPath(BINARY))) {
      await new Promise((done) => setTimeout(done, 5_000));
      r = await apt(install);
    }
    const path = await onPath(BINARY);
    if (r.exitCode !== 0 || !path)
      throw new Error(`apt-get install prometheus failed (exit ${r.exitCode}):\n${String(r.all ?? "").slice(-2000)}`);
    return path;
  })();
  return installing;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel; the tiny race until Prometheus binds it is accepted). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PrometheusServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Run an instant query; resolves with the result vector (empty when no data). */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Wait until `promql` returns at least one sample (e.g. the edge's first requests were scraped). */
  waitFor(promql: string, what: string, timeoutMs?: number): Promise<void>;
  /** Replace the scraped targets (host:port); Prometheus picks the file change up at once. */
  setTargets(targets: string[]): Promise<void>;
  /** What the server printed (for failures). */
  output(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port targets serving /metrics, scraped every `scrapeInterval` (default none: see setTargets). */
  targets?: string[];
  /** Default 1s. */
  scrapeInterval?: string;
}

export async function startPrometheus(o: PrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = await ensurePrometheus();
  const dir = await mkdtemp(join(tmpdir(), "release-gate-prometheus-"));
  const every = o.scrapeInterval ?? "1s";
  const targetsFile = join(dir, "targets.json");
  const setTargets = async (targets: string[]) => {
    await writeFile(`${targetsFile}.tmp`, JSON.stringify([{ targets }]));
    await rename(`${targetsFile}.tmp`, targetsFile);
  };
  await setTargets(o.targets ?? []);
  const config = {
    global: { scrape_interval: every, evaluation_interval: every },
    scrape_configs: [
      {
        job_name: "ingress-nginx",
        scrape_interval: every,
        scrape_timeout: every,
        file_sd_configs: [{ files: [targetsFile], refresh_interval: every }],
      },
    ],
  };
  await writeFile(join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = execa(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { reject: false, all: true, buffer: { all: true }, cleanup: true },
  );
  let printed = "";
  proc.all?.on("data", (chunk: Buffer) => (printed = (printed + chunk.toString()).slice(-8000)));
  let exited = false;
  void proc.then(() => (exited = true));
  const stop = async () => {
    if (!exited) {
      proc.kill("SIGTERM");
      await proc;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const query: PrometheusServer["query"] = async (promql) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown } };
    if (body.status !== "success") throw new Error(`Prometheus refused ${promql}: ${body.error}`);
    return body.data!.result as Awaited<ReturnType<PrometheusServer["query"]>>;
  };
  const waitFor: PrometheusServer["waitFor"] = async (promql, what, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new Error(`Prometheus exited while waiting for ${what}:\n${printed}`);
      const r = await query(promql).catch(() => []);
      if (r.length > 0) return;
      if (Date.now() > deadline) throw new Error(`Prometheus never had ${what} (${promql}) within ${timeoutMs} ms:\n${printed}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error(`Prometheus exited at start:\n${printed}`);
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`Prometheus was not ready within 60 s:\n${printed}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, query, waitFor, setTargets, output: () => printed, stop };
}
