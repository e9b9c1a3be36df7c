/**
 * Choosing the cluster: --context, --eks-cluster/--aws-region and the kubeconfig are checked for conflicts before
 * anything is read (exit 2, one line); release.yaml's `cluster:` pin refuses any other cluster with nothing changed;
 * the Dagger toolbox's redirect to a bound host service keeps the kubeconfig's scheme and credentials.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReleaseConfig } from "#src/config/load.ts";
import { UsageError } from "#src/errors.ts";
import { applyDaggerRedirect, checkClusterPin, clusterSourceProblem, connectCluster, type ClusterConnection } from "#src/kube/connect.ts";
import { execa } from "execa";
import { bin, BIN, binEnv } from "../support/bin.ts";
import { startHarness, type Harness } from "../support/pipeline-harness.ts";

const KUBECONFIG_TWO_CONTEXTS = stringify({
  apiVersion: "v1",
  kind: "Config",
  clusters: [
    { name: "staging", cluster: { server: "https://staging.example.test:6443" } },
    {
      name: "arn:aws:eks:eu-west-1:123456789012:cluster/qualisys-prod",
      cluster: { server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com" },
    },
  ],
  users: [{ name: "u", user: { token: "t" } }],
  contexts: [
    { name: "staging", context: { cluster: "staging", user: "u" } },
    { name: "prod", context: { cluster: "arn:aws:eks:eu-west-1:123456789012:cluster/qualisys-prod", user: "u" } },
  ],
  "current-context": "staging",
});
const env = { RELEASE_GATE_KUBECONFIG: KUBECONFIG_TWO_CONTEXTS };

describe("conflicting or missing settings are refused before anything is read", () => {
  it.each([
    [{ eksCluster: "c", kubeconfig: "/k" }, {}, /--eks-cluster and --kubeconfig name two ways/],
    [{ eksCluster: "c", awsRegion: "eu-west-1" }, env, /--eks-cluster and RELEASE_GATE_KUBECONFIG/],
    [{ eksCluster: "c", context: "prod", awsRegion: "eu-west-1" }, {}, /--context .* does not apply to --eks-cluster/],
    [{ eksCluster: "c" }, {}, /--eks-cluster needs the cluster's region: pass --aws-region or set AWS_REGION/],
    [{ eksCluster: "arn:aws:eks:eu-west-1:1:cluster/c", awsRegion: "eu-west-1" }, {}, /takes the cluster's name .* not the ARN/],
    [{ awsRegion: "eu-west-1" }, {}, /--aws-region only applies with --eks-cluster/],
  ])("%j", async (source, e, message) => {
    expect(clusterSourceProblem(source, e)).toMatch(message);
    const err = await connectCluster(source, e).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/nothing was changed in the cluster$/);
    expect((err as Error).message.split("\n")).toHaveLength(1);
  });

  it("takes the region from AWS_REGION", () => {
    expect(clusterSourceProblem({ eksCluster: "c" }, { AWS_REGION: "eu-west-1" })).toBeUndefined();
  });
});

describe("--context", () => {
  it("uses the kubeconfig's current-context by default, and the named one when given", async () => {
    expect((await connectCluster({}, env)).context).toBe("staging");
    const prod = await connectCluster({ context: "prod" }, env);
    expect(prod).toMatchObject({ context: "prod", server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com" });
    expect(prod.kc.getCurrentCluster()?.name).toBe("arn:aws:eks:eu-west-1:123456789012:cluster/qualisys-prod");
  });

  it("refuses an unknown context, listing the ones there are", async () => {
    await expect(connectCluster({ context: "prd" }, env)).rejects.toThrow(
      /--context prd: .* has no such context \(it has: staging, prod\)/,
    );
  });
});

describe("the cluster pin in release.yaml", () => {
  const conn = (c: Partial<ClusterConnection>): ClusterConnection =>
    ({
      kc: undefined as never,
      server: "https://staging.example.test:6443",
      clusterName: "staging",
      context: "staging",
      ...c,
    }) as ClusterConnection;
  const ARN = "arn:aws:eks:eu-west-1:123456789012:cluster/qualisys-prod";
  /** Its endpoint, as the pin's `server` (a name under .test: never resolved). */
  const PROD = "https://ABC.gr7.eu-west-1.eks.example.test";

  it("the schema takes an EKS cluster ARN, a server URL, or both", () => {
    const base =
      "namespace: production\nrouter: { kind: replicas }\n" +
      "services: [{ name: a, container: a, stable: { deployment: a, service: a }, canary: { deployment: a-canary, service: a-canary }, " +
      "smoke: { url: 'https://a.test' } }]\n";
    expect(parseReleaseConfig(`${base}cluster: { eksClusterArn: ${ARN} }`).cluster).toEqual({ eksClusterArn: ARN });
    expect(parseReleaseConfig(`${base}cluster: { server: https://x.test }`).cluster).toEqual({ server: "https://x.test" });
    expect(parseReleaseConfig(`${base}cluster: { eksClusterArn: ${ARN}, server: https://x.test }`).cluster).toEqual({
      eksClusterArn: ARN,
      server: "https://x.test",
    });
    expect(() => parseReleaseConfig(`${base}cluster: {}`)).toThrow(/name eksClusterArn, server, or both/);
    expect(() => parseReleaseConfig(`${base}cluster: { eksClusterArn: qualisys-prod }`)).toThrow(/must be an EKS cluster ARN/);
  });

  it("a server pin matches the same URL however it is spelt, and refuses another", () => {
    expect(() => checkClusterPin({ server: "https://STAGING.example.test:6443/" }, conn({}), {})).not.toThrow();
    expect(() => checkClusterPin({ server: "https://prod.example.test" }, conn({}), {})).toThrow(
      new RegExp(
        /^release\.yaml pins production to the API server https:\/\/prod\.example\.test, /.source +
          /but this run would reach kubeconfig context staging \(cluster staging, server https:\/\/staging\.example\.test:6443\); /.source +
          /refusing, nothing was changed in the cluster$/.source,
      ),
    );
  });

  it("an ARN pin matches an EKS connection by the ARN DescribeCluster gave, and by its endpoint when the pin names one", () => {
    const eks = conn({ eksArn: ARN, clusterName: ARN, server: PROD });
    expect(() => checkClusterPin({ eksClusterArn: ARN }, eks, {})).not.toThrow();
    expect(() => checkClusterPin({ eksClusterArn: ARN, server: PROD }, eks, {})).not.toThrow();
    expect(() => checkClusterPin({ eksClusterArn: ARN }, { ...eks, eksArn: ARN.replace("prod", "stg") }, {})).toThrow(UsageError);
    expect(() => checkClusterPin({ eksClusterArn: ARN, server: "https://other.example.test" }, eks, {})).toThrow(
      /pins production to EKS cluster .*qualisys-prod at https:\/\/other\.example\.test, but this run would reach EKS cluster/,
    );
  });

  it("a kubeconfig named like the pinned ARN proves nothing: an ARN-only pin refuses every kubeconfig", () => {
    for (const named of [conn({ clusterName: ARN, context: ARN, server: PROD }), conn({ context: ARN }), conn({})]) {
      let err: unknown;
      try {
        checkClusterPin({ eksClusterArn: ARN }, named, {});
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(
        new RegExp(
          /^release\.yaml pins production to EKS cluster arn:aws:eks:eu-west-1:123456789012:cluster\/qualisys-prod, /.source +
            /but this run would reach kubeconfig context .*names prove nothing about where it connects: /.source +
            /add the cluster's endpoint to the pin as `server:` /.source +
            /\(`aws eks describe-cluster --name qualisys-prod --region eu-west-1 --query cluster\.endpoint`\), /.source +
            /or pass --eks-cluster; refusing, nothing was changed in the cluster$/.source,
        ),
      );
    }
  });

  it("an ARN pin with a server admits a kubeconfig whose server is that one, whatever its names, and no other", () => {
    const pin = { eksClusterArn: ARN, server: PROD };
    expect(() => checkClusterPin(pin, conn({ server: PROD.toUpperCase() + "/" }), {})).not.toThrow();
    expect(() => checkClusterPin(pin, conn({ clusterName: ARN, context: ARN, server: "https://127.0.0.1:6443" }), {})).toThrow(
      new RegExp(
        /pins production to EKS cluster .*qualisys-prod at https:\/\/ABC\.gr7\.eu-west-1\.eks\.example\.test, /.source +
          /but this run would reach kubeconfig context arn:.* server https:\/\/127\.0\.0\.1:6443\); refusing/.source,
      ),
    );
  });

  it("a pinned run refuses the Dagger --kube-api redirect, " + "which would send requests elsewhere than the server compared", () => {
    const pin = { eksClusterArn: ARN, server: PROD };
    expect(() => checkClusterPin(pin, conn({ server: PROD }), { RELEASE_GATE_KUBE_API: "kube-api:6443" })).toThrow(
      new RegExp(
        /^release\.yaml pins production to arn:.*qualisys-prod, but --kube-api sends this run's requests to kube-api:6443 .*; /.source +
          /nothing was changed in the cluster$/.source,
      ),
    );
    expect(() => checkClusterPin(undefined, conn({}), { RELEASE_GATE_KUBE_API: "kube-api:6443" })).not.toThrow();
  });

  it("no pin, no check", () => {
    expect(() => checkClusterPin(undefined, conn({}), {})).not.toThrow();
  });
});

describe("the Dagger toolbox's redirect to a bound host service", () => {
  it("keeps scheme, CA and credentials, changes host:port, and sets the TLS server name", async () => {
    const c = await connectCluster({ context: "staging" }, env);
    const r = applyDaggerRedirect(c, { RELEASE_GATE_KUBE_API: "kube-api:6443", RELEASE_GATE_TLS_SERVER_NAME: "localhost" });
    expect(r.kc.getCurrentCluster()).toMatchObject({ server: "https://kube-api:6443", tlsServerName: "localhost" });
    expect(r.kc.getCurrentUser()).toMatchObject({ token: "t" });
    // What the pin was checked against stays the kubeconfig's own address.
    expect(r.server).toBe("https://staging.example.test:6443");
    expect(applyDaggerRedirect(c, {})).toBe(c);
  });
});

describe("through the bin, against the simulator", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({});
  });
  afterAll(() => h.stop());

  async function pinned(pin: object): Promise<string> {
    const doc = parse(await readFile(h.configPath, "utf8"));
    doc.cluster = pin;
    const path = join(h.dir, `pinned-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, stringify(doc));
    return path;
  }

  it("deploy to a cluster other than the pinned one: exit 2, one line, nothing changed", async () => {
    const rv = h.sim.store.resourceVersion();
    const r = await bin(h, ["deploy", "--tag", "1.1.0"], await pinned({ server: "https://qualisys-prod.example.test" }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        /^release-gate: release\.yaml pins production to the API server https:\/\/qualisys-prod\.example\.test, /.source +
          /but this run would reach kubeconfig context .*; refusing, nothing was changed in the cluster$/.source,
      ),
    );
    expect(h.sim.store.resourceVersion()).toBe(rv);
  });

  /** The bin with a kubeconfig of our own (bin() always passes the harness's). */
  async function binWith(args: string[], config: string, kubeconfig: string) {
    const r = await execa(process.execPath, [BIN, ...args, "--config", config, "--kubeconfig", kubeconfig], {
      reject: false,
      env: { ...binEnv(h), AWS_EC2_METADATA_DISABLED: "true" },
      extendEnv: false,
      timeout: 60_000,
    });
    return { code: r.exitCode, stderr: String(r.stderr) };
  }

  /** The harness's kubeconfig with its cluster and context renamed to `name` (as `aws eks update-kubeconfig` names them). */
  async function namedKubeconfig(name: string): Promise<{ path: string; server: string }> {
    const kc = parse(await readFile(h.kubeconfigPath, "utf8"));
    const context = kc.contexts.find((c: { name: string }) => c.name === kc["current-context"]);
    const cluster = kc.clusters.find((c: { name: string }) => c.name === context.context.cluster);
    cluster.name = name;
    context.context.cluster = name;
    context.name = name;
    kc["current-context"] = name;
    const path = join(h.dir, `kubeconfig-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, stringify(kc));
    return { path, server: cluster.cluster.server as string };
  }

  it("an ARN pin: a kubeconfig named by the ARN but pointing at another server is refused (exit 2, one line, nothing changed)", async () => {
    const arn = "arn:aws:eks:eu-west-1:123456789012:cluster/qualisys-prod";
    const { path } = await namedKubeconfig(arn);
    const rv = h.sim.store.resourceVersion();
    for (const pin of [{ eksClusterArn: arn }, { eksClusterArn: arn, server: "https://abc.gr7.eu-west-1.eks.example.test" }]) {
      const r = await binWith(["deploy", "--tag", "1.1.0"], await pinned(pin), path);
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines.at(-1)).toMatch(
        new RegExp(
          /^release-gate: release\.yaml pins production to EKS cluster /.source +
            /arn:aws:eks:eu-west-1:123456789012:cluster\/qualisys-prod.*, /.source +
            /but this run would reach kubeconfig context arn:aws:eks:.*; refusing, nothing was changed in the cluster$/.source,
        ),
      );
    }
    expect(h.sim.store.resourceVersion()).toBe(rv);
  });

  it("an ARN pin with the server a kubeconfig reaches passes, whatever the kubeconfig's names", async () => {
    const arn = "arn:aws:eks:eu-west-1:123456789012:cluster/qualisys-prod";
    const { path, server } = await namedKubeconfig("anything");
    const r = await binWith(["status"], await pinned({ eksClusterArn: arn, server }), path);
    expect(r.code, r.stderr).toBe(0);
  });

  it("status with the right pin and --context works; an unknown --context is refused", async () => {
    const kubeconfig = parse(await readFile(h.sim.kubeconfigPath, "utf8"));
    const server = kubeconfig.clusters[0].cluster.server as string;
    const config = await pinned({ server });
    const ok = await bin(h, ["status", "--context", kubeconfig["current-context"]], config);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await bin(h, ["status", "--context", "nope"], config);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--context nope: .* has no such context/);
  });
});
