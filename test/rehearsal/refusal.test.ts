/**
 * The rehearsal refuses anything but a kind cluster on this machine's loopback, at each step before anything
 * changes: the module's settings, the kubeconfig kind hands out, and the nodes of the API server actually reached
 * (over TLS, through the same rewrite the toolbox uses).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "#src/dagger/connection.ts";
import { NO_SETTINGS } from "./support/fixtures.ts";
import { kubeFromConfig } from "#src/kube/client.ts";
import { kubeApiRoute, reachKind } from "#src/rehearsal/kube-api.ts";
import { checkKindNodes, kindKubeconfigProblems, kindNodeProblems, rehearseSettingsProblem } from "#src/rehearsal/refusal.ts";
import { fakeApiServer, kindKubeconfig, kindNodes, kindPki, type FakeApiServer } from "./support/fake-kind.ts";

const NAME = "release-gate-rehearsal";
const none = NO_SETTINGS;
const EXAMPLE = "dagger call --kube-api=tcp://localhost:6443 rehearse …";

describe("the module's settings", () => {
  it("accept --kube-api alone, or with --tls-server-name=localhost", () => {
    expect(rehearseSettingsProblem({ ...none, kubeApi: true }, EXAMPLE)).toBeUndefined();
    expect(rehearseSettingsProblem({ ...none, kubeApi: true, tlsServerName: "localhost" }, EXAMPLE)).toBeUndefined();
  });

  it.each([
    [
      "no --kube-api",
      { ...none },
      /reaches kind's API server through --kube-api, a port on this machine: dagger call --kube-api=tcp:\/\/localhost:6443 rehearse/,
    ],
    [
      "a --kubeconfig (it could name a real cluster)",
      { ...none, kubeApi: true, kubeconfig: true },
      /takes its kubeconfig from kind itself, never from --kubeconfig/,
    ],
    ["a --context", { ...none, kubeApi: true, context: "prod" }, /never from --kubeconfig or --context/],
    [
      "an EKS cluster",
      { ...none, eksCluster: "qualisys-prod", awsRegion: "eu-west-1" },
      /--eks-cluster and AWS credentials name a real cluster/,
    ],
    ["AWS keys alone", { ...none, kubeApi: true, awsAccessKeyId: true, awsSecretAccessKey: true }, /AWS credentials name a real cluster/],
    ["a web identity", { ...none, kubeApi: true, awsRoleArn: "arn:aws:iam::1:role/x", awsWebIdentityToken: true }, /AWS credentials/],
    ["another TLS server name", { ...none, kubeApi: true, tlsServerName: "kubernetes" }, /as localhost, not "kubernetes"/],
  ])("refuse %s, saying nothing was changed", (_what, settings: ConnectionSettings, message) => {
    const problem = rehearseSettingsProblem(settings, EXAMPLE);
    expect(problem).toMatch(message);
    expect(problem).toMatch(/nothing was changed$/);
  });
});

describe("the kubeconfig kind hands out", () => {
  let pki: Awaited<ReturnType<typeof kindPki>>;
  const get = async () => (pki ??= await kindPki());

  it("is accepted for the named cluster on the --kube-api port", async () => {
    expect(kindKubeconfigProblems(kindKubeconfig(await get(), NAME, 6443), { name: NAME, apiServerPort: 6443 })).toEqual([]);
  });

  it.each([
    [
      "another cluster's",
      (kc: any) => (kc["current-context"] = "kind-other"),
      /current context is "kind-other", not kind-release-gate-rehearsal/,
    ],
    [
      "a server on the LAN",
      (kc: any) => (kc.clusters[0].cluster.server = "https://10.0.0.5:6443"),
      /server 10\.0\.0\.5:6443 is not on this machine's loopback/,
    ],
    [
      "an EKS endpoint",
      (kc: any) => (kc.clusters[0].cluster.server = "https://ABC.gr7.eu-west-1.eks.amazonaws.com"),
      /not on this machine's loopback; its server is on port 443/,
    ],
    ["plain http", (kc: any) => (kc.clusters[0].cluster.server = "http://127.0.0.1:6443"), /speaks http, not https/],
    [
      "another port than --kube-api",
      (kc: any) => (kc.clusters[0].cluster.server = "https://127.0.0.1:7443"),
      /port 7443, not the --kube-api port 6443/,
    ],
    ["no CA", (kc: any) => delete kc.clusters[0].cluster["certificate-authority-data"], /no certificate-authority-data/],
    ["verification skipped", (kc: any) => (kc.clusters[0].cluster["insecure-skip-tls-verify"] = true), /skips TLS verification/],
    [
      "a context pointing at a non-kind cluster entry",
      (kc: any) => (kc.contexts[0].context.cluster = "arn:aws:eks:eu-west-1:1:cluster/prod"),
      /context's cluster is "arn:aws:eks/,
    ],
  ])("is refused when it names %s", async (_what, edit, message) => {
    const problems = kindKubeconfigProblems(kindKubeconfig(await get(), NAME, 6443, edit), { name: NAME, apiServerPort: 6443 });
    expect(problems.join("; ")).toMatch(message);
  });

  it("never quotes the kubeconfig (it holds the admin key)", async () => {
    const text = kindKubeconfig(await get(), NAME, 6443, (kc) => (kc.clusters[0].cluster.server = "https://10.0.0.5:6443"));
    const key = /client-key-data: (\S+)/.exec(text)![1];
    expect(kindKubeconfigProblems(text, { name: NAME, apiServerPort: 6443 }).join(" ")).not.toContain(key.slice(0, 20));
    expect(kindKubeconfigProblems("{{not yaml", { name: NAME, apiServerPort: 6443 })).toEqual(["it is not YAML"]);
  });
});

describe("the nodes of the cluster reached", () => {
  it("are kind's when every providerID is kind://<provider>/<cluster>/<node>", () => {
    expect(kindNodeProblems(kindNodes(NAME, [`${NAME}-control-plane`, `${NAME}-worker`]), NAME)).toEqual([]);
  });

  it.each([
    [
      "an EKS node",
      [{ metadata: { name: "ip-10-0-1-5.eu-west-1.compute.internal" }, spec: { providerID: "aws:///eu-west-1a/i-0abc" } }],
      /providerID "aws:\/\/\/eu-west-1a\/i-0abc"/,
    ],
    ["another kind cluster", kindNodes("other"), /not kind:\/\/…\/release-gate-rehearsal\/other-control-plane/],
    ["a node without providerID", [{ metadata: { name: "n1" }, spec: {} }], /node n1 has providerID null/],
    ["no nodes at all", [], /lists no nodes/],
  ])("refuse %s", (_what, nodes, message) => {
    expect(kindNodeProblems(nodes, NAME).join("; ")).toMatch(message);
  });
});

describe("through TLS, as the toolbox reaches the API server", () => {
  let server: FakeApiServer | undefined;
  afterEach(async () => server?.close());

  it("reads the nodes of a kind cluster and lets the rehearsal go on", async () => {
    const pki = await kindPki();
    server = await fakeApiServer(pki, kindNodes(NAME));
    const kc = reachKind(kindKubeconfig(pki, NAME, server.port), kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` }));
    await expect(checkKindNodes(kubeFromConfig(kc).core, NAME)).resolves.toBeUndefined();
    expect(server.requests).toEqual(["GET /api/v1/nodes"]);
  });

  it("refuses a cluster whose nodes are not kind's with exit 2, having only read the nodes", async () => {
    const pki = await kindPki();
    server = await fakeApiServer(pki, [{ metadata: { name: "ip-10-0-1-5" }, spec: { providerID: "aws:///eu-west-1a/i-0abc" } }]);
    const kc = reachKind(kindKubeconfig(pki, NAME, server.port), kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` }));
    const err = await checkKindNodes(kubeFromConfig(kc).core, NAME).catch((e: Error & { exitCode?: number }) => e);
    expect(err).toMatchObject({ exitCode: 2 });
    expect((err as Error).message).toMatch(
      /^refused to rehearse: the cluster reached through --kube-api is not a kind cluster .*nothing was changed$/,
    );
    expect(server.requests).toEqual(["GET /api/v1/nodes"]);
  });

  it("cannot even connect when the port leads to a server kind's CA did not sign (another cluster behind it)", async () => {
    const kind = await kindPki();
    const elsewhere = await kindPki();
    server = await fakeApiServer(elsewhere, kindNodes(NAME));
    const kc = reachKind(kindKubeconfig(kind, NAME, server.port), kubeApiRoute({ RELEASE_GATE_KUBE_API: `127.0.0.1:${server.port}` }));
    await expect(checkKindNodes(kubeFromConfig(kc, { retry: false }).core, NAME)).rejects.toThrow();
    expect(server.requests).toEqual([]);
  });
});
