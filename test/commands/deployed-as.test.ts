/**
 * Who a release ran as reaches its record: the real bin connects as on EKS (`--eks-cluster`, `--aws-region`, keys in
 * the environment), STS GetCallerIdentity names the principal, and that ARN is the record's `deployedAs` in the
 * release's Markdown (audit/markdown.ts), in `history --json`, and in the job summary `notify` writes from it.
 *
 * Everything stays on 127.0.0.1: STS and EKS are the local HTTPS stand-in (test/aws/support/aws-stand-in.ts, reached
 * through the SDK's own AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_EKS, its CA trusted through NODE_EXTRA_CA_CERTS), and
 * DescribeCluster names as the API server an HTTPS front for the simulator that plays EKS's authenticator: it takes
 * only a `k8s-aws-v1.` token presigning GetCallerIdentity for this cluster, and maps it, as an EKS access entry maps
 * the IAM role, to the deployer identity of the other CLI scenarios (so the simulator's RBAC applies as usual).
 */
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, binEnv } from "../support/bin.ts";
import { DEPLOYER, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { CLUSTER, CLUSTER_ARN, PRINCIPAL, REGION, startStandIn, type StandIn } from "../aws/support/aws-stand-in.ts";

let h: Harness | undefined;
let aws: StandIn | undefined;
let front: Server | undefined;
afterEach(async () => {
  front?.closeAllConnections();
  front?.close();
  await aws?.close();
  await h?.stop();
  h = aws = front = undefined;
});

/** The cluster's API endpoint as EKS runs it: HTTPS, and only EKS tokens for this cluster get through. */
async function eksFront(h: Harness, standIn: StandIn): Promise<{ url: string; tokens: string[] }> {
  const simToken = h.sim.authz.issueToken(DEPLOYER);
  const api = new URL(h.sim.apiUrl);
  const tokens: string[] = [];
  front = createServer({ cert: standIn.pki.valid.cert, key: standIn.pki.valid.key }, (req, res) => {
    const token = /^Bearer (k8s-aws-v1\.\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    const presigned = token ? Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString() : "";
    if (!presigned.includes("Action=GetCallerIdentity") || !presigned.includes("x-k8s-aws-id")) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"kind":"Status","code":401,"reason":"Unauthorized"}');
      return;
    }
    tokens.push(token!);
    const upstream = httpRequest(
      {
        host: api.hostname,
        port: api.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${simToken}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  front.listen(0, "127.0.0.1");
  await once(front, "listening");
  return { url: `https://127.0.0.1:${(front.address() as AddressInfo).port}`, tokens };
}

describe("deployedAs: the AWS principal a release ran as, in its record", () => {
  it("reaches deploy's Markdown record, history --json and the notify summary, end to end through the bin", async () => {
    h = await startHarness({});
    aws = await startStandIn();
    const eks = await eksFront(h, aws);
    const describeCluster = {
      status: 200,
      body: JSON.stringify({
        cluster: {
          name: CLUSTER,
          arn: CLUSTER_ARN,
          status: "ACTIVE",
          endpoint: eks.url,
          certificateAuthority: { data: Buffer.from(aws.pki.ca).toString("base64") },
        },
      }),
    };
    const ca = join(h.dir, "stand-in-ca.pem");
    await writeFile(ca, aws.pki.ca);
    const env = {
      ...binEnv(h),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      AWS_ENDPOINT_URL_STS: aws.url,
      AWS_ENDPOINT_URL_EKS: aws.url,
      NODE_EXTRA_CA_CERTS: ca,
    };
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      // Each command connects afresh: DescribeCluster once per run.
      aws!.script("eks", describeCluster);
      const r = await execa(process.execPath, [BIN, ...args, "--config", h!.configPath, "--eks-cluster", CLUSTER, "--aws-region", REGION], {
        reject: false,
        env: { ...env, ...extra },
        extendEnv: false,
        timeout: 60_000,
      });
      return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    };

    const deployed = await cli(["deploy", "--tag", "1.1.0"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/## release-gate deploy `1.1.0` to production: ✅ succeeded/);
    expect(deployed.stdout).toContain(`- **Deployed as:** ${PRINCIPAL}`);
    // It really went through EKS: STS asked, the cluster described, the API reached with EKS tokens only.
    expect(aws.requests.map((r) => r.service)).toEqual(expect.arrayContaining(["sts", "eks"]));
    expect(eks.tokens.length).toBeGreaterThan(0);

    const history = await cli(["history", "--json", "--limit", "1"]);
    expect(history.code, history.stderr).toBe(0);
    const [record] = JSON.parse(history.stdout);
    expect(record).toMatchObject({ tag: "1.1.0", outcome: "succeeded", deployedAs: PRINCIPAL });

    // The record as the production workflow's notify step reads it back from history.
    const recordFile = join(h.dir, "release-record.json");
    const summary = join(h.dir, "summary.md");
    await writeFile(recordFile, JSON.stringify(record));
    await writeFile(summary, "");
    const told = await execa(process.execPath, [BIN, "notify", "--record", recordFile], {
      reject: false,
      env: { PATH: process.env.PATH ?? "", GITHUB_STEP_SUMMARY: summary },
      extendEnv: false,
    });
    expect(told.exitCode, String(told.stderr)).toBe(0);
    expect(await readFile(summary, "utf8")).toContain(`- **Deployed as:** ${PRINCIPAL}`);
  }, 90_000);
});
