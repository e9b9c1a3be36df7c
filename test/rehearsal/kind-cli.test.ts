/**
 * The kind and docker commands the rehearsal runs, against stand-in executables on PATH that record their argument
 * vectors: exact arguments (no shell in between), their output parsed, and failures naming the command and its last
 * words. Then bin/rehearsal.js itself, refusing with exit 2 and one verdict line when Docker does not answer or the
 * API server's host service is missing.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storySettings } from "./support/fixtures.ts";
import { controlPlaneNode, kindCli, parseClusters, parseCrictlImages, parseDockerPort } from "#src/rehearsal/kind-cli.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kind-cli-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An executable `name` that appends its arguments (one per line, then a separator) to calls.log and runs `body`. */
async function stub(name: string, body: string): Promise<void> {
  const path = join(dir, name);
  await writeFile(
    path,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> "${dir}/calls.log"; done\necho "--" >> "${dir}/calls.log"\n${body}\n`,
  );
  await chmod(path, 0o755);
}
const calls = async () =>
  (await readFile(join(dir, "calls.log"), "utf8").catch(() => ""))
    .split("--\n")
    .filter(Boolean)
    .map((c) => c.trim().split("\n"));

describe("parsing what kind and docker print", () => {
  it("kind get clusters", () => {
    expect(parseClusters("release-gate-rehearsal\nother\n")).toEqual(["release-gate-rehearsal", "other"]);
    expect(parseClusters("No kind clusters found.\n")).toEqual([]);
  });

  it("docker port", () => {
    expect(parseDockerPort("127.0.0.1:6443\n[::1]:6443\n")).toEqual(["127.0.0.1:6443", "[::1]:6443"]);
    expect(parseDockerPort("")).toEqual([]);
  });

  it("crictl images -o json", () => {
    const out = JSON.stringify({ images: [{ repoTags: ["release-gate.local/demo:1.0.0"] }, { repoTags: [] }, {}] });
    expect(parseCrictlImages(out)).toEqual(["release-gate.local/demo:1.0.0"]);
  });
});

describe("the commands, as run", () => {
  it("passes every argument as its own word, whatever it contains", async () => {
    await stub("kind", "exit 0");
    const kind = kindCli({ env: { PATH: `${dir}:${process.env.PATH}` } });
    await kind.create("release-gate-rehearsal", "/tmp/a dir/kind; rm -rf x.yaml");
    await kind.loadImageArchive("release-gate-rehearsal", "/run/images/2.0.0.tar");
    await kind.delete("release-gate-rehearsal");
    expect(await calls()).toEqual([
      ["create", "cluster", "--name", "release-gate-rehearsal", "--config", "/tmp/a dir/kind; rm -rf x.yaml", "--wait", "180s"],
      ["load", "image-archive", "/run/images/2.0.0.tar", "--name", "release-gate-rehearsal"],
      ["delete", "cluster", "--name", "release-gate-rehearsal"],
    ]);
  });

  it("reads the node's published ports and images through docker", async () => {
    await stub(
      "docker",
      `case "$1" in port) echo 127.0.0.1:6443;; exec) echo '{"images":[{"repoTags":["release-gate.local/demo:2.0.0"]}]}';; version) echo 28.0.4;; esac`,
    );
    const kind = kindCli({ env: { PATH: `${dir}:${process.env.PATH}` } });
    expect(await kind.hostPorts(controlPlaneNode("c"), 6443)).toEqual(["127.0.0.1:6443"]);
    expect(await kind.nodeImages("c-control-plane")).toEqual(["release-gate.local/demo:2.0.0"]);
    expect(await kind.dockerVersion()).toBe("28.0.4");
    expect(await calls()).toEqual([
      ["port", "c-control-plane", "6443/tcp"],
      ["exec", "c-control-plane", "crictl", "images", "-o", "json"],
      ["version", "--format", "{{.Server.Version}}"],
    ]);
  });

  it("a failing command names itself, its exit code and its last words; kind's progress goes to the log", async () => {
    await stub(
      "kind",
      `echo " • Ensuring node image" >&2; echo "ERROR: failed to create cluster: port 6443 is already allocated" >&2; exit 1`,
    );
    const lines: string[] = [];
    const kind = kindCli({ env: { PATH: `${dir}:${process.env.PATH}` }, log: (l) => lines.push(l) });
    await expect(kind.create("c", "/k.yaml")).rejects.toThrow(
      /^`kind create cluster --name c --config \/k\.yaml --wait 180s` failed \(exit 1\): .*port 6443 is already allocated$/,
    );
    expect(lines).toContain("  kind: • Ensuring node image");
  });
});

describe("bin/rehearsal.js", () => {
  const BIN = fileURLToPath(new URL("../../bin/rehearsal.js", import.meta.url));
  const ROOT = fileURLToPath(new URL("../../", import.meta.url));

  async function settingsFile(): Promise<string> {
    const path = join(dir, "settings.json");
    await writeFile(path, JSON.stringify(storySettings()));
    return path;
  }
  const run = (args: string[], env: Record<string, string>) =>
    execa(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: `${dir}:${process.env.PATH}`, ...env },
      extendEnv: false,
      reject: false,
    });

  it("refuses with exit 2 when no Docker engine answers, having created nothing", async () => {
    await stub("docker", `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1`);
    await stub("kind", "exit 0");
    const r = await run([await settingsFile()], { RELEASE_GATE_KUBE_API: "kube-api:6443" });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim().split("\n").at(-1)).toMatch(
      /^release-gate: no Docker engine answers on --docker-socket .*; nothing was created$/,
    );
    expect((await calls()).map((c) => c[0])).toEqual(["version"]);
    expect(String(r.stdout)).toBe("");
  });

  it("refuses with exit 2 without the API server's host service", async () => {
    const r = await run([await settingsFile()], {});
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/release-gate: the rehearsal needs the API server's host service \(RELEASE_GATE_KUBE_API=host:port/);
  });

  it("refuses with exit 2 when the settings do not match what the function writes", async () => {
    const path = join(dir, "bad.json");
    await writeFile(path, JSON.stringify({ cluster: "x", router: "traefik" }));
    const r = await run([path], { RELEASE_GATE_KUBE_API: "kube-api:6443" });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/the rehearsal's settings .* are invalid/);
  });
});
