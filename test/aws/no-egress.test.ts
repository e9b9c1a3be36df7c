/**
 * No request leaves loopback: with every socket connect and DNS lookup in this process watched (and anything but
 * loopback refused before it is attempted), a whole EKS connection — credentials from the standard chain, STS
 * GetCallerIdentity, EKS DescribeCluster, a token, Kubernetes reads through the authenticator — talks to 127.0.0.1
 * only. The guard is shown to catch what it is for: the instance-metadata address and a public AWS host.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
import dns from "node:dns";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eksToken } from "#src/aws/eks-token.ts";
import { kubeFromConfig } from "#src/kube/client.ts";
import { connectCluster } from "#src/kube/connect.ts";
import { CLUSTER, PRINCIPAL, REGION, startStandIn, type StandIn } from "./support/aws-stand-in.ts";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/;

const seen = { connects: [] as string[], lookups: [] as string[], blocked: [] as string[] };
const originals = { connect: net.Socket.prototype.connect, lookup: dns.lookup, promisesLookup: dns.promises.lookup };

function hostOf(args: unknown[]): string | undefined {
  const [first, second] = args as [unknown, unknown];
  if (Array.isArray(first)) return hostOf(first);
  if (first && typeof first === "object") {
    const o = first as { host?: string; path?: string };
    return o.path ? `unix:${o.path}` : (o.host ?? "localhost");
  }
  if (typeof first === "number" || /^\d+$/.test(String(first))) return typeof second === "string" ? second : "localhost";
  return typeof first === "string" ? `unix:${first}` : undefined;
}

function installGuard(): void {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const host = hostOf(args) ?? "?";
    seen.connects.push(host);
    if (!host.startsWith("unix:") && !LOOPBACK.test(host)) {
      seen.blocked.push(host);
      throw new Error(`test guard: refused a connection to ${host}`);
    }
    return (originals.connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
  const guardName = (name: string) => {
    seen.lookups.push(name);
    if (!LOOPBACK.test(name)) {
      seen.blocked.push(name);
      throw new Error(`test guard: refused a DNS lookup of ${name}`);
    }
  };
  dns.lookup = function (name: string, ...rest: unknown[]) {
    guardName(name);
    return (originals.lookup as (...a: unknown[]) => void)(name, ...rest);
  } as typeof dns.lookup;
  dns.promises.lookup = async function (name: string, ...rest: unknown[]) {
    guardName(name);
    return (originals.promisesLookup as (...a: unknown[]) => Promise<unknown>)(name, ...rest);
  } as typeof dns.promises.lookup;
}

function removeGuard(): void {
  net.Socket.prototype.connect = originals.connect;
  dns.lookup = originals.lookup;
  dns.promises.lookup = originals.promisesLookup;
}

let aws: StandIn;
const saved = { ...process.env };
beforeAll(async () => {
  aws = await startStandIn();
  installGuard();
});
afterAll(async () => {
  removeGuard();
  process.env = saved;
  await aws.close();
});

describe("no request leaves loopback", () => {
  it("a whole EKS connection, from the credential chain to Kubernetes reads, connects to 127.0.0.1 only", async () => {
    // The standard chain finds these first, so it never reaches the container or instance-metadata providers.
    process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    delete process.env.AWS_PROFILE;
    const stub = { endpoint: aws.url, requestHandler: { httpsAgent: aws.httpsAgent } };
    const c = await connectCluster({ eksCluster: CLUSTER, awsRegion: REGION }, process.env, { sts: stub, eks: stub });
    expect(c.deployedAs).toBe(PRINCIPAL);
    const kube = kubeFromConfig(c.kc, { retry: false });
    await kube.core.readNamespace({ name: "production" });
    // A token is only signed, never sent anywhere but to the API server.
    await eksToken({ cluster: CLUSTER, region: REGION, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } });

    expect(aws.requests.map((r) => r.service)).toEqual(["sts", "eks", "kube"]);
    expect(seen.connects.length).toBeGreaterThanOrEqual(3);
    expect(seen.connects.filter((h) => !LOOPBACK.test(h))).toEqual([]);
    expect(seen.lookups.filter((h) => !LOOPBACK.test(h))).toEqual([]);
    expect(seen.blocked).toEqual([]);
  });

  it("the guard catches what it is for: the instance-metadata address and a public AWS host", async () => {
    await expect(fetch("http://169.254.169.254/latest/meta-data/")).rejects.toThrow();
    await expect(fetch("https://sts.eu-west-1.amazonaws.com/")).rejects.toThrow();
    expect(seen.blocked).toEqual(expect.arrayContaining(["169.254.169.254", "sts.eu-west-1.amazonaws.com"]));
    seen.blocked.length = 0;
  });
});
