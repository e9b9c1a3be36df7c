/**
 * The rehearsal's story with stand-ins for kind and Docker (recording every command), a TLS stand-in for the API
 * server, and the demo app as the edge: each refusal comes before anything is created, loaded or applied; a
 * refused cluster is deleted only when asked; and the releases' verdicts (promoted, rolled back, traffic back on the
 * good version) are judged from the CLI's exit codes, its records and the edge.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startDemoApp, demoAppSettings, type DemoApp } from "#src/rehearsal/demo-app.ts";
import { kubeFromConfig } from "#src/kube/client.ts";
import { parseManifests } from "#src/rehearsal/apply.ts";
import type { KindCli } from "#src/rehearsal/kind-cli.ts";
import { kubeApiRoute, reachKind, type KubeApiRoute } from "#src/rehearsal/kube-api.ts";
import { rehearsalReleaseConfig } from "#src/rehearsal/release-config.ts";
import type { RehearsalSettings } from "#src/rehearsal/settings.ts";
import { boundServiceAccount, releaseBoth, runStory, type CliRun, type StoryDeps } from "#src/rehearsal/story.ts";
import type { StoryResult } from "#src/rehearsal/timeline.ts";
import { fakeApiServer, kindKubeconfig, kindNodes, kindPki, type FakeApiServer, type Pki } from "./support/fake-kind.ts";
import { storySettings } from "./support/fixtures.ts";
import { badRecordBeforeTraffic, goodRecord } from "./support/records.ts";

const ROOT = new URL("../../", import.meta.url);
const NAME = "release-gate-rehearsal";
const read = (p: string) => readFile(new URL(p, ROOT), "utf8");

let dir: string;
let server: FakeApiServer | undefined;
let pki: Pki;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rehearsal-story-"));
  pki ??= await kindPki();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function settings(over: Partial<RehearsalSettings> = {}, kindYaml?: string): Promise<RehearsalSettings> {
  const kindConfig = join(dir, "kind.yaml");
  await writeFile(kindConfig, kindYaml ?? (await read("kubernetes/local/kind.yaml")));
  return storySettings(
    { edge: { host: "127.0.0.1", port: 8080 }, ...over },
    {
      kindConfig,
      productionRelease: new URL("kubernetes/production/release.yaml", ROOT).pathname,
      routerLocal: new URL("kubernetes/local/routers/ingress-nginx.yaml", ROOT).pathname,
    },
  );
}

interface FakeKind extends KindCli {
  calls: string[];
}

function fakeKind(o: {
  clusters?: string[];
  kubeconfig: () => string;
  dockerDown?: boolean;
  hostPorts?: Record<number, string[]>;
}): FakeKind {
  const calls: string[] = [];
  const call = (what: string) => calls.push(what);
  return {
    calls,
    dockerVersion: async () => {
      call("docker version");
      if (o.dockerDown) throw new Error("Cannot connect to the Docker daemon at unix:///var/run/docker.sock");
      return "28.0.4";
    },
    clusters: async () => (call("kind get clusters"), o.clusters ?? []),
    create: async (name, config) => {
      call(`kind create cluster --name ${name}`);
      expect(parse(await readFile(config, "utf8")).name).toBe(name);
    },
    kubeconfig: async () => (call("kind get kubeconfig"), o.kubeconfig()),
    loadImageArchive: async (_n, archive) => void call(`kind load image-archive ${archive}`),
    delete: async (name) => void call(`kind delete cluster --name ${name}`),
    hostPorts: async (_c, port) => (call(`docker port ${port}`), o.hostPorts?.[port] ?? []),
    nodeImages: async () => (call("crictl images"), []),
  };
}

function deps(kind: FakeKind, route: KubeApiRoute, over: Partial<StoryDeps> = {}): StoryDeps & { connected: number } {
  const d = {
    connected: 0,
    kind,
    route,
    connect(text: string) {
      d.connected++;
      return kubeFromConfig(reachKind(text, route), { retry: false });
    },
    deploy: async (): Promise<CliRun> => {
      throw new Error("no release may run in these tests");
    },
    log: () => {},
    ...over,
  };
  return d;
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail("expected a refusal"),
    (err: Error & { exitCode?: number }) => {
      expect(err.exitCode, err.message).toBe(2);
      return err.message;
    },
  );

describe("refusals come before anything is created, loaded or applied", () => {
  it("a kind.yaml listening beyond loopback: nothing is run at all", async () => {
    const kind = fakeKind({ kubeconfig: () => "" });
    const yaml = (await read("kubernetes/local/kind.yaml")).replace('apiServerAddress: "127.0.0.1"', 'apiServerAddress: "0.0.0.0"');
    const message = await refusal(runStory(await settings({}, yaml), deps(kind, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }))));
    expect(message).toMatch(/apiServerAddress is 0\.0\.0\.0, not loopback/);
    expect(kind.calls).toEqual([]);
  });

  it("no Docker engine on the socket: refused, no cluster created", async () => {
    const kind = fakeKind({ kubeconfig: () => "", dockerDown: true });
    const message = await refusal(runStory(await settings(), deps(kind, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }))));
    expect(message).toMatch(/^no Docker engine answers on --docker-socket \(Cannot connect to the Docker daemon/);
    expect(kind.calls).toEqual(["docker version"]);
  });

  it("kind hands out a kubeconfig for a server off loopback: refused before any client connects, nothing loaded", async () => {
    const kind = fakeKind({
      kubeconfig: () => kindKubeconfig(pki, NAME, 6443, (kc) => (kc.clusters[0].cluster.server = "https://10.1.2.3:6443")),
    });
    const d = deps(kind, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }));
    const message = await refusal(runStory(await settings(), d));
    expect(message).toMatch(
      /^refused to rehearse: the kubeconfig kind gave for release-gate-rehearsal is not a kind cluster .*10\.1\.2\.3:6443 is not on this machine's loopback/,
    );
    expect(kind.calls).toEqual([
      "docker version",
      "kind get clusters",
      "kind create cluster --name release-gate-rehearsal",
      "kind get kubeconfig",
    ]);
    expect(d.connected).toBe(0);
  });

  it("the API server reached has no kind nodes: refused having only read the nodes, nothing loaded", async () => {
    server = await fakeApiServer(pki, [{ metadata: { name: "ip-10-0-1-5" }, spec: { providerID: "aws:///eu-west-1a/i-0abc" } }]);
    const route = kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` });
    const kind = fakeKind({ clusters: [], kubeconfig: () => kindKubeconfig(pki, NAME, server!.port) });
    const message = await refusal(runStory(await settings(), deps(kind, route)));
    expect(message).toMatch(/the cluster reached through --kube-api is not a kind cluster .*aws:\/\/\/eu-west-1a\/i-0abc/);
    expect(kind.calls.some((c) => c.startsWith("kind load"))).toBe(false);
    expect(server.requests).toEqual(["GET /api/v1/nodes"]);
  });

  it("a kind cluster already running the other router: refused, nothing loaded or applied", async () => {
    server = await fakeApiServer(pki, kindNodes(NAME), { namespaces: ["envoy-gateway-system"] });
    const route = kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` });
    const kind = fakeKind({ kubeconfig: () => kindKubeconfig(pki, NAME, server!.port) });
    const message = await refusal(runStory(await settings(), deps(kind, route)));
    expect(message).toMatch(/already runs another router \(namespace envoy-gateway-system\)/);
    expect(kind.calls.some((c) => c.startsWith("kind load"))).toBe(false);
    expect(server.requests.every((r) => r.startsWith("GET "))).toBe(true);
  });

  it("a reused cluster published on other ports or beyond loopback: refused before its kubeconfig is even read", async () => {
    const kind = fakeKind({ clusters: [NAME], kubeconfig: () => "", hostPorts: { 6443: ["0.0.0.0:6443"], 30080: ["127.0.0.1:9090"] } });
    const message = await refusal(runStory(await settings(), deps(kind, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }))));
    expect(message).toMatch(
      /API server is published on 0\.0\.0\.0:6443, not 127\.0\.0\.1:6443; its edge is published on 127\.0\.0\.1:9090, not 127\.0\.0\.1:8080/,
    );
    expect(kind.calls).toEqual(["docker version", "kind get clusters", "docker port 6443", "docker port 30080"]);
  });

  it("a refused cluster it created is deleted only with --delete-cluster", async () => {
    const bad = () => kindKubeconfig(pki, NAME, 6443, (kc) => (kc.clusters[0].cluster.server = "https://10.1.2.3:6443"));
    const keep = fakeKind({ kubeconfig: bad });
    await refusal(runStory(await settings(), deps(keep, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }))));
    expect(keep.calls.at(-1)).toBe("kind get kubeconfig");
    const del = fakeKind({ kubeconfig: bad });
    await refusal(runStory(await settings({ deleteCluster: true }), deps(del, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }))));
    expect(del.calls.at(-1)).toBe(`kind delete cluster --name ${NAME}`);
  });

  it("a reused cluster it refused is never deleted, even with --delete-cluster", async () => {
    const kind = fakeKind({ clusters: [NAME], kubeconfig: () => "", hostPorts: { 6443: ["0.0.0.0:6443"], 30080: ["127.0.0.1:8080"] } });
    await refusal(runStory(await settings({ deleteCluster: true }), deps(kind, kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }))));
    expect(kind.calls.some((c) => c.startsWith("kind delete"))).toBe(false);
  });
});

describe("the releases and their verdict", () => {
  let edge: DemoApp | undefined;
  afterEach(async () => {
    await edge?.close();
    edge = undefined;
  });

  const overlay = parseManifests(
    stringify({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "release-gate", namespace: "production" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "release-gate" },
      subjects: [{ kind: "ServiceAccount", name: "release-gate", namespace: "production" }],
    }),
    "overlay",
  );

  async function run(answers: Record<string, CliRun>, edgeVersion = "2.0.0") {
    edge = await startDemoApp({ ...demoAppSettings({ APP_VERSION: edgeVersion }), port: 0 }, { host: "127.0.0.1" });
    const config = rehearsalReleaseConfig(await read("kubernetes/production/release.yaml"), "ingress-nginx");
    const deployed: Array<{ tag: string; config: string; kubeconfig: string }> = [];
    const tokenRequests: unknown[] = [];
    const kube = {
      core: {
        createNamespacedServiceAccountToken: async (req: unknown) => (
          tokenRequests.push(req),
          { status: { token: "sa-token-xyz", expirationTimestamp: new Date() } }
        ),
      },
    } as never;
    const result: StoryResult = {
      cluster: NAME,
      clusterReused: false,
      router: "ingress-nginx",
      routerVersion: "x",
      failure: "crash-loop",
      releasedAs: "—",
      setup: [],
      problems: [],
      totalMs: 0,
    };
    const set = await settings();
    await releaseBoth(
      {
        kube,
        kubeconfig: kindKubeconfig(pki, NAME, 6443),
        config,
        overlay,
        hosts: ["app.qualisys.localhost"],
        edgeUrl: edge.url,
        tmp: dir,
      },
      set,
      deps(fakeKind({ kubeconfig: () => "" }), kubeApiRoute({ RELEASE_GATE_KUBE_API: "kube-api:6443" }), {
        deploy: async (tag, configPath, kubeconfig) => {
          deployed.push({ tag, config: await readFile(configPath, "utf8"), kubeconfig });
          return answers[tag] ?? { exitCode: 1, stdout: "", stderr: "no answer" };
        },
      }),
      result,
    );
    return { result, deployed, tokenRequests };
  }

  const ok = {
    "2.0.0": { exitCode: 0, stdout: JSON.stringify(goodRecord()), stderr: "" },
    "2.1.0-crash-loop": {
      exitCode: 1,
      stdout: JSON.stringify(badRecordBeforeTraffic()),
      stderr: "release-gate: release of 2.1.0-crash-loop failed at canary 10%: …; rolled back",
    },
  };

  it("good promoted, bad rolled back, every request answered by the good version: no problems", async () => {
    const { result, deployed, tokenRequests } = await run(ok);
    expect(result.problems).toEqual([]);
    expect(deployed.map((d) => d.tag)).toEqual(["2.0.0", "2.1.0-crash-loop"]);
    expect(result.bad?.verdict).toMatch(/rolled back$/);
    expect(result.afterRollback).toEqual([{ host: "app.qualisys.localhost", total: 20, byVersion: { "2.0.0": 20 } }]);
    // Released as production's ServiceAccount, never as kind's admin, with the derived release.yaml.
    expect(tokenRequests).toEqual([expect.objectContaining({ name: "release-gate", namespace: "production" })]);
    expect(result.releasedAs).toMatch(/^ServiceAccount production\/release-gate/);
    for (const d of deployed) {
      expect(parse(d.kubeconfig).users).toEqual([{ name: "release-gate", user: { token: "sa-token-xyz" } }]);
      expect(d.kubeconfig).not.toContain(Buffer.from(pki.client.key).toString("base64").slice(0, 24));
      expect(parse(d.config).router.kind).toBe("ingress-nginx");
    }
  });

  it("a good release that is not promoted ends the story before the bad one", async () => {
    const { result, deployed } = await run({
      ...ok,
      "2.0.0": { exitCode: 1, stdout: JSON.stringify({ ...goodRecord(), outcome: "rolled-back" }), stderr: "release-gate: smoke failed" },
    });
    expect(deployed.map((d) => d.tag)).toEqual(["2.0.0"]);
    expect(result.problems).toEqual(["the good release 2.0.0 was not promoted (exit 1, rolled-back): release-gate: smoke failed"]);
  });

  it("a bad release that is promoted is a failed rehearsal", async () => {
    const { result } = await run({
      ...ok,
      "2.1.0-crash-loop": { exitCode: 0, stdout: JSON.stringify(goodRecord("2.1.0-crash-loop")), stderr: "" },
    });
    expect(result.problems[0]).toMatch(/^the bad release 2\.1\.0-crash-loop was not rolled back by itself \(exit 0, succeeded\)/);
  });

  it("traffic not back on the good version after the rollback is a failed rehearsal", async () => {
    const { result } = await run(ok, "2.1.0-crash-loop");
    expect(result.problems).toEqual([
      'after the rollback only 0/20 requests to app.qualisys.localhost were answered by 2.0.0: {"2.1.0-crash-loop":20}',
    ]);
  });

  it("finds the ServiceAccount production's RoleBinding binds", () => {
    expect(boundServiceAccount(overlay, "production")).toBe("release-gate");
    expect(boundServiceAccount(overlay, "staging")).toBeUndefined();
  });
});
