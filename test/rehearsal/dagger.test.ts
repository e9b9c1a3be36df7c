/**
 * The rehearsal's Dagger layer without an engine. The SDK's own introspector (scan(), as the runtime runs it) sees
 * `rehearse` and `demo-app` documented, with their argument types and cache policies. The image build definition is
 * read from the pinned SDK's own query builder (the GraphQL calls the engine would get): pinned base image, the
 * module's demo app files, version and failure, entrypoint, and the name `kind load image-archive` gives it; and its
 * files and settings, laid out as the image lays them out, run and answer. The story's exec is never cached.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dag } from "@dagger.io/dagger";
import { execa } from "execa";
import { request } from "undici";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_FAILURES } from "#src/rehearsal/demo-app.ts";
import { demoImageRef } from "#src/rehearsal/demo-versions.ts";
import { demoAppImage, GO_PACKAGE, kindTools, KIND_VERSION, KUSTOMIZE_VERSION, renderOverlay } from "#src/rehearsal/images.ts";
import {
  DOCKER_CLI_PACKAGE,
  rehearsalPlan,
  rehearseArgsProblem,
  SETTINGS_PATH,
  storyExec,
  withKindTools,
} from "#src/rehearsal/rehearse.ts";
import { ROUTER_INSTALLS } from "#src/rehearsal/routers.ts";
import { rehearsalSettingsSchema } from "#src/rehearsal/settings.ts";
import { ROUTERS } from "#src/rehearsal/release-config.ts";
import type { ConnectionSettings } from "#src/dagger/connection.ts";
import { NO_SETTINGS } from "./support/fixtures.ts";
import { runtimeLoad, type ScannedObject } from "../dagger/support/runtime-load.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
/** The toolbox's pinned Node (index.ts cannot be imported without the Dagger runtime). */
const NODE_IMAGE = /const NODE_IMAGE = "([^"]+)"/.exec(read(".dagger/src/index.ts"))![1];

/** The GraphQL calls a lazy SDK object stands for, nested objects (files, directories) as their own call lists. */
type Call = { op: string; args: Record<string, unknown> };
function calls(obj: unknown): Call[] {
  const tree = (obj as { _ctx: { _queryTree: Array<{ operation: string; args?: Record<string, unknown> }> } })._ctx._queryTree;
  return tree.map((q) => ({
    op: q.operation,
    args: Object.fromEntries(Object.entries(q.args ?? {}).map(([k, v]) => [k, (v as { _ctx?: unknown })?._ctx ? calls(v) : v])),
  }));
}
const argsOf = (cs: Call[], op: string) => cs.filter((c) => c.op === op).map((c) => c.args);

describe("what the SDK's introspector sees", () => {
  let module: ScannedObject;
  beforeAll(async () => {
    const r = await runtimeLoad();
    expect(r.exitCode, r.stderr).toBe(0);
    module = r.objects![0];
  }, 180_000);
  const fn = (name: string) => module.functions.find((f) => f.name === name)!;

  it("rehearse: never cached, returns the timeline, documented with an example", () => {
    const f = fn("rehearse");
    expect(f.cache).toBe("never");
    expect(f.returnType).toMatchObject({ kind: "STRING_KIND" });
    expect(f.description).toMatch(/kind cluster on this machine/);
    expect(f.description).toMatch(/time to detect the failure, time until traffic was back on stable/);
    expect(f.description).toContain("dagger call --kube-api=tcp://localhost:6443 rehearse --docker-socket=/var/run/docker.sock");
  });

  it("rehearse: the Docker socket and the edge are required, the choices have defaults, every argument is described", () => {
    const args = Object.fromEntries(fn("rehearse").arguments.map((a) => [a.name, a]));
    expect(Object.keys(args)).toEqual(["dockerSocket", "edge", "router", "failure", "clusterName", "deleteCluster"]);
    expect(args.dockerSocket.type.name).toBe("Socket");
    expect(args.edge.type.name).toBe("Service");
    for (const a of [args.dockerSocket, args.edge]) expect(a.isOptional || a.isNullable || a.defaultValue !== undefined).toBe(false);
    expect(args.router.defaultValue).toBe("ingress-nginx");
    expect(args.failure.defaultValue).toBe("crash-loop");
    expect(args.clusterName.defaultValue).toBe("release-gate-rehearsal");
    expect(args.deleteCluster).toMatchObject({ type: { kind: "BOOLEAN_KIND" }, defaultValue: false });
    // --help names every choice.
    for (const r of ROUTERS) expect(args.router.description).toContain(r);
    for (const f of DEMO_FAILURES) expect(args.failure.description).toContain(f);
    for (const a of Object.values(args)) expect(a.description.length, a.name).toBeGreaterThan(20);
  });

  it("demo-app: an image build definition, cached like any build, returning a Container", () => {
    const f = fn("demoApp");
    expect(f.cache ?? "default").toBe("default");
    expect(f.returnType).toMatchObject({ kind: "OBJECT_KIND", name: "Container" });
    const args = Object.fromEntries(f.arguments.map((a) => [a.name, a]));
    expect(args.version.defaultValue).toBe("1.0.0");
    expect(args.failure.defaultValue).toBe("none");
    for (const x of DEMO_FAILURES) expect(args.failure.description).toContain(x);
  });
});

describe("the demo app image, as the SDK builds it", () => {
  const image = (version: string, failure?: (typeof DEMO_FAILURES)[number]) =>
    calls(demoAppImage(NODE_IMAGE, dag.directory(), version, failure));

  it("starts from the toolbox's Node, pinned by digest, and holds only the module's demo app and its entry", () => {
    const cs = image("2.0.0");
    expect(NODE_IMAGE).toMatch(/^node:24\.[\d.]+-alpine@sha256:[0-9a-f]{64}$/);
    expect(argsOf(cs, "from")).toEqual([{ address: NODE_IMAGE }]);
    expect(argsOf(cs, "withFile").map((a) => [a.path, (a.source as Call[]).at(-1)?.args.path])).toEqual([
      ["/app/bin/demo-app.js", "bin/demo-app.js"],
      ["/app/.dagger/src/rehearsal/demo-app.ts", ".dagger/src/rehearsal/demo-app.ts"],
    ]);
    expect(argsOf(cs, "withExec")).toEqual([]); // nothing installed: no dependencies to pull
    expect(argsOf(cs, "withEntrypoint")).toEqual([{ args: [] }]);
    expect(argsOf(cs, "withDefaultArgs")).toEqual([{ args: ["node", "/app/bin/demo-app.js"] }]);
    expect(argsOf(cs, "withUser")).toEqual([{ name: "node" }]);
  });

  it("bakes in the version and the failure, and names itself as the overlays reference it", () => {
    const env = (cs: Call[]) => Object.fromEntries(argsOf(cs, "withEnvVariable").map((a) => [a.name, a.value]));
    expect(env(image("2.0.0"))).toMatchObject({ APP_VERSION: "2.0.0", DEMO_APP_FAILURE: "none", PORT: "3000" });
    expect(env(image("2.1.0-slow", "slow"))).toMatchObject({ APP_VERSION: "2.1.0-slow", DEMO_APP_FAILURE: "slow" });
    const annotations = Object.fromEntries(argsOf(image("2.0.0"), "withAnnotation").map((a) => [a.name, a.value]));
    expect(annotations).toEqual({ "io.containerd.image.name": demoImageRef("2.0.0"), "org.opencontainers.image.ref.name": "2.0.0" });
  });

  describe("its files and settings, laid out as in the image, run", () => {
    let dir: string;
    let proc: ReturnType<typeof execa> | undefined;
    afterEach(async () => {
      proc?.kill("SIGKILL");
      await proc?.catch(() => undefined);
      proc = undefined;
      await rm(dir, { recursive: true, force: true });
    });

    it.each([
      ["2.0.0", undefined, (login: string) => expect(login).toContain("Sign In")],
      ["2.1.0-wrong-login", "wrong-login" as const, (login: string) => expect(login).not.toContain("Sign In")],
    ])("%s", async (version, failure, checkLogin) => {
      const cs = image(version, failure);
      dir = await mkdtemp(join(tmpdir(), "demo-image-"));
      const root = (p: string) => join(dir, p);
      for (const f of argsOf(cs, "withNewFile")) {
        await mkdir(dirname(root(f.path as string)), { recursive: true });
        await writeFile(root(f.path as string), f.contents as string);
      }
      for (const f of argsOf(cs, "withFile")) {
        await mkdir(dirname(root(f.path as string)), { recursive: true });
        await writeFile(root(f.path as string), await readFile(join(ROOT, (f.source as Call[]).at(-1)!.args.path as string)));
      }
      const env = Object.fromEntries(argsOf(cs, "withEnvVariable").map((a) => [a.name as string, a.value as string]));
      const [cmd, ...args] = argsOf(cs, "withDefaultArgs")[0].args as string[];
      expect(cmd).toBe("node");
      // The image's command with its own paths under the temporary root; any free port on loopback, not 3000 on all.
      const p = execa(
        process.execPath,
        args.map((a) => (a.startsWith("/") ? root(a) : a)),
        {
          env: { PATH: process.env.PATH ?? "", ...env, PORT: "0", HOST: "127.0.0.1" },
          extendEnv: false,
          cwd: root("/app"),
          reject: false,
        },
      );
      proc = p;
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        p.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        void p.then(() => reject(new Error(`the image's entrypoint exited:\n${out}`)));
      });
      const health = await request(`${url}/api/health`);
      expect(await health.body.json()).toEqual({ status: "ok", version });
      checkLogin(await (await request(`${url}/login`)).body.text());
    });
  });
});

describe("kind, kustomize and the overlay, as the SDK builds them", () => {
  it("kind and kustomize come from `go install` at the pinned versions on Alpine pinned by digest", () => {
    const cs = calls(kindTools());
    expect(argsOf(cs, "from")[0].address).toMatch(/^alpine:3\.[\d.]+@sha256:[0-9a-f]{64}$/);
    expect(argsOf(cs, "withExec").map((a) => (a.args as string[]).join(" "))).toEqual([
      `apk add --no-cache ${GO_PACKAGE}`,
      `go install sigs.k8s.io/kind@${KIND_VERSION}`,
      `go install sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`,
    ]);
    expect(KIND_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    // kind's version pins the node image kind.yaml uses: the one kind v0.31.0 defaults to.
    expect(read("kubernetes/local/kind.yaml")).toContain("kind v0.31.0's own node image");
    expect(KIND_VERSION).toBe("v0.31.0");
  });

  it("every apk package is pinned to a version series (Alpine serves only a branch's newest build of each)", () => {
    const apkAdds = [
      ...argsOf(calls(kindTools()), "withExec"),
      ...argsOf(calls(withKindTools(dag.container(), dag.directory())), "withExec"),
    ]
      .map((a) => a.args as string[])
      .filter((a) => a[0] === "apk");
    expect(apkAdds).toHaveLength(2);
    for (const args of apkAdds) {
      const packages = args.slice(2).filter((a) => !a.startsWith("-"));
      expect(packages.length, args.join(" ")).toBeGreaterThan(0);
      // name~version: apk's prefix match (go~1.24 takes 1.24.x-rN, never 1.25); name=version would be exact.
      for (const p of packages) expect(p, args.join(" ")).toMatch(/^[a-z0-9][a-z0-9+._-]*(~|=)\d+(\.\d+)*(-r\d+)?$/);
    }
    expect(GO_PACKAGE).toBe("go~1.24");
    expect(DOCKER_CLI_PACKAGE).toBe("docker-cli~29");
  });

  it.each(ROUTERS)("the %s overlay is rendered by kustomize from the uploaded kubernetes/ folder", (router) => {
    const cs = calls(renderOverlay(dag.directory(), dag.directory(), router));
    expect(argsOf(cs, "withExec")).toEqual([
      expect.objectContaining({ args: ["kustomize", "build", `/src/kubernetes/local/${router}`], redirectStdout: "/out/overlay.yaml" }),
    ]);
  });
});

describe("the story's exec, as the SDK builds it", () => {
  const plan = (router: "ingress-nginx" | "gateway-api" = "gateway-api", failure: "slow" | "crash-loop" = "slow") =>
    rehearsalPlan(
      { source: dag.directory(), nodeImage: NODE_IMAGE },
      { router, failure, clusterName: "c1", deleteCluster: true, edgePort: 9090 },
    );
  const exec = (p = plan(), tlsServerName?: string) =>
    calls(
      storyExec(withKindTools(dag.container(), p.tools), p, {
        dockerSocket: dag.host().unixSocket("/var/run/docker.sock"),
        edge: dag.host().service([{ backend: 9090 }]),
        ...(tlsServerName ? { tlsServerName } : {}),
      }),
    );

  it("writes settings the story accepts: three images, the bad one named after its failure, the edge's bound name and port", () => {
    const cs = exec();
    const mounted = argsOf(cs, "withMountedFile").find((a) => a.path === SETTINGS_PATH)!;
    const contents = (mounted.source as Call[]).find((c) => c.op === "withNewFile")!.args.contents as string;
    const settings = rehearsalSettingsSchema.parse(JSON.parse(contents));
    expect(settings).toMatchObject({ cluster: "c1", router: "gateway-api", failure: "slow", deleteCluster: true, edge: { port: 9090 } });
    expect(settings.versions).toEqual({ stable: "1.0.0", good: "2.0.0", bad: "2.1.0-slow" });
    expect(settings.images.map((i) => i.ref)).toEqual(["1.0.0", "2.0.0", "2.1.0-slow"].map(demoImageRef));
    expect(settings.files.routerLocal).toBe("kubernetes/local/routers/gateway-api.yaml");
    expect(argsOf(cs, "withServiceBinding").map((a) => a.alias)).toEqual([settings.edge.host]);
  });

  it("mounts every file where the settings say, the image archives, the overlay and the router manifest", () => {
    const p = plan("ingress-nginx", "crash-loop");
    const mounts = new Map(argsOf(exec(p), "withMountedFile").map((a) => [a.path as string, a.source as Call[]]));
    for (const i of p.settings.images) expect(mounts.get(i.archive)?.at(-1)?.op, i.archive).toBe("asTarball");
    expect(mounts.get(p.settings.files.overlay)?.some((c) => c.op === "withExec")).toBe(true);
    expect(argsOf(exec(p), "withUnixSocket")[0].path).toBe("/var/run/docker.sock");
  });

  it.each(ROUTERS)("downloads the %s manifest from its versioned URL, verified against its pinned sha256", (router) => {
    const p = plan(router, "crash-loop");
    const mounts = new Map(argsOf(exec(p), "withMountedFile").map((a) => [a.path as string, a.source as Call[]]));
    const download = mounts.get(p.settings.files.routerManifest)!.find((c) => c.op === "http")!;
    const install = ROUTER_INSTALLS[router];
    expect(install.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(install.manifestUrl).toContain(install.version);
    expect(download.args).toEqual({ url: install.manifestUrl, checksum: `sha256:${install.sha256}` });
  });

  it("runs bin/rehearsal.js on the settings, right after a fresh cache buster; kind's TLS name unless one was given", () => {
    const cs = exec();
    const execs = cs.filter((c) => c.op === "withExec");
    expect(execs.at(-1)!.args.args).toEqual(["node", "bin/rehearsal.js", SETTINGS_PATH]);
    expect(cs.at(-2)).toMatchObject({ op: "withEnvVariable", args: { name: "RELEASE_GATE_CACHE_BUSTER" } });
    expect(cs.at(-2)!.args.value).not.toBe((exec().at(-2)!.args as { value: string }).value);
    const tls = (c: Call[]) => argsOf(c, "withEnvVariable").filter((a) => a.name === "RELEASE_GATE_TLS_SERVER_NAME");
    expect(tls(cs)).toEqual([{ name: "RELEASE_GATE_TLS_SERVER_NAME", value: "localhost" }]);
    expect(tls(exec(plan(), "localhost"))).toEqual([]);
    // The docker CLI and kind are in the toolbox before anything else.
    expect(execs[0].args.args).toEqual(["apk", "add", "--no-cache", DOCKER_CLI_PACKAGE]);
    expect(argsOf(cs, "withFile").map((a) => a.path)).toEqual(["/usr/local/bin/kind"]);
  });
});

describe("rehearse's own refusals, before anything is built", () => {
  const none: ConnectionSettings = { ...NO_SETTINGS, kubeApi: true };
  const ok = { router: "ingress-nginx", failure: "crash-loop", clusterName: "release-gate-rehearsal" };

  it("accepts the defaults with --kube-api", () => {
    expect(rehearseArgsProblem({ settings: none }, ok)).toBeUndefined();
  });

  it.each([
    [{ settings: { ...none, kubeApi: false } }, ok, /release-gate rehearse: rehearse reaches kind's API server through --kube-api/],
    [{ settings: { ...none, kubeconfig: true } }, ok, /never from --kubeconfig/],
    [{ settings: none }, { ...ok, router: "traefik" }, /--router "traefik": not one of ingress-nginx, gateway-api/],
    [
      { settings: none },
      { ...ok, failure: "none" },
      /--failure "none": not one of crash-loop, failing-health, wrong-login, server-errors, slow/,
    ],
    [{ settings: none }, { ...ok, clusterName: "Prod" }, /refused cluster name "Prod"/],
  ])("refuses %#: exit 2", (ctx, o, message) => {
    const f = rehearseArgsProblem(ctx, o);
    expect(f?.message).toMatch(message);
    expect(f?.extensions.exitCode).toBe(2);
  });
});
