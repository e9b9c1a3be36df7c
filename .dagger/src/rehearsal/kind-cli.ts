/**
 * The kind and docker commands the rehearsal runs (execa, argument arrays, never a shell): which clusters exist,
 * create, kubeconfig, load an image archive, delete, and two looks at the node container (its host port mappings,
 * the images its containerd holds). Their output is parsed here; their failures name the command and its last
 * words. kind's own progress goes to `log`.
 */
import { execa } from "execa";

export interface KindCli {
  clusters(): Promise<string[]>;
  create(name: string, configPath: string): Promise<void>;
  kubeconfig(name: string): Promise<string>;
  loadImageArchive(name: string, archive: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** Host addresses (ip:port) a node container's port is published on, per `docker port`. */
  hostPorts(container: string, containerPort: number): Promise<string[]>;
  /** Image references the node's containerd holds (crictl images). */
  nodeImages(node: string): Promise<string[]>;
  /** The Docker server's version: proves the socket answers. */
  dockerVersion(): Promise<string>;
}

export interface KindCliOptions {
  kind?: string;
  docker?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** `kind get clusters` prints one name a line; "No kind clusters found." goes to stderr. */
export function parseClusters(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^no kind clusters found/i.test(l));
}

/** `docker port C 6443/tcp` prints one "ip:port" a line ("127.0.0.1:6443", "[::1]:6443"). */
export function parseDockerPort(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /:\d+$/.test(l));
}

/** `crictl images -o json`: every repo tag. */
export function parseCrictlImages(stdout: string): string[] {
  const parsed = JSON.parse(stdout) as { images?: Array<{ repoTags?: string[] }> };
  return (parsed.images ?? []).flatMap((i) => i.repoTags ?? []);
}

/** The node container kind names after the cluster. */
export const controlPlaneNode = (cluster: string) => `${cluster}-control-plane`;

export function kindCli(o: KindCliOptions = {}): KindCli {
  const kind = o.kind ?? "kind";
  const docker = o.docker ?? "docker";
  const env = o.env ?? process.env;
  const run = async (file: string, args: string[], opts: { streamStderr?: boolean } = {}) => {
    const p = execa(file, args, { env, extendEnv: false, reject: false, stdin: "ignore" });
    if (opts.streamStderr && o.log) {
      p.stderr?.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString().split("\n")) if (line.trim()) o.log!(`  ${file}: ${line.trim()}`);
      });
    }
    const r = await p;
    if (r.exitCode !== 0 || r.failed) {
      const last = String(r.stderr || r.stdout || r.message)
        .trim()
        .split("\n")
        .slice(-3)
        .join(" / ");
      throw new Error(`\`${file} ${args.join(" ")}\` failed (exit ${r.exitCode ?? "none"}): ${last}`);
    }
    return String(r.stdout);
  };
  return {
    clusters: async () => parseClusters(await run(kind, ["get", "clusters"])),
    create: async (name, configPath) => {
      await run(kind, ["create", "cluster", "--name", name, "--config", configPath, "--wait", "180s"], { streamStderr: true });
    },
    kubeconfig: (name) => run(kind, ["get", "kubeconfig", "--name", name]),
    loadImageArchive: async (name, archive) => {
      await run(kind, ["load", "image-archive", archive, "--name", name], { streamStderr: true });
    },
    delete: async (name) => {
      await run(kind, ["delete", "cluster", "--name", name], { streamStderr: true });
    },
    hostPorts: async (container, containerPort) => parseDockerPort(await run(docker, ["port", container, `${containerPort}/tcp`])),
    nodeImages: async (node) => parseCrictlImages(await run(docker, ["exec", node, "crictl", "images", "-o", "json"])),
    dockerVersion: async () => (await run(docker, ["version", "--format", "{{.Server.Version}}"])).trim(),
  };
}
