/**
 * `release-gate eks-token` through the real bin: an ExecCredential like `aws eks get-token`'s, whose token verifies
 * independently; without credentials or region, exit 2, one line, and no token printed. Nothing is sent anywhere.
 */
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { makePki } from "../support/certs.ts";
import { resolveKubectl } from "../support/kubectl.ts";
import { BIN, releaseGate } from "../support/run-cli.ts";
import { expectedSignature, tokenUrl } from "../aws/support/sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
// HOME points nowhere, so no developer's ~/.aws profile is found; metadata is off: the chain has nothing else.
const NO_AWS = {
  AWS_EC2_METADATA_DISABLED: "true",
  HOME: "/nonexistent",
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
};

describe("release-gate eks-token", () => {
  it("prints an ExecCredential with a valid token from the environment's credentials", async () => {
    const r = await releaseGate(["eks-token", "--cluster", "qualisys-prod", "--region", "eu-west-1"], {
      ...NO_AWS,
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: "session-EXAMPLE",
    });
    expect(r.code, r.stderr).toBe(0);
    const cred = JSON.parse(r.stdout);
    expect(cred).toMatchObject({ kind: "ExecCredential", apiVersion: "client.authentication.k8s.io/v1beta1", spec: {} });
    expect(cred.status.expirationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const url = tokenUrl(cred.status.token);
    expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe("session-EXAMPLE");
    const headers = { host: url.host, "x-k8s-aws-id": "qualisys-prod" };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(expectedSignature(url, headers, SECRET));
    // Reported expiry: 14 minutes after signing.
    const d = url.searchParams.get("X-Amz-Date")!;
    const signed = Date.parse(
      `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
    );
    expect(Date.parse(cred.status.expirationTimestamp) - signed).toBe(14 * 60_000);
    expect(r.stderr).toBe("");
  });

  it("takes the region from AWS_REGION", async () => {
    const r = await releaseGate(["eks-token", "--cluster", "c"], {
      ...NO_AWS,
      AWS_REGION: "us-east-2",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: SECRET,
    });
    expect(r.code).toBe(0);
    expect(tokenUrl(JSON.parse(r.stdout).status.token).host).toBe("sts.us-east-2.amazonaws.com");
  });

  it.each([
    ["no credentials", ["--cluster", "c", "--region", "eu-west-1"], {}, /no AWS credentials found/],
    [
      "no region",
      ["--cluster", "c"],
      { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
      /needs the cluster's region: pass --region or set AWS_REGION/,
    ],
    [
      "an ARN for --cluster",
      ["--cluster", "arn:aws:eks:eu-west-1:123456789012:cluster/c", "--region", "eu-west-1"],
      { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
      /takes the EKS cluster's name/,
    ],
  ])("%s: exit 2, one line, no token", async (_what, args, env, message) => {
    const r = await releaseGate(["eks-token", ...args], { ...NO_AWS, ...env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("k8s-aws-v1.");
  });
});

describe("the kubeconfig entry `eks-token --help` prints", () => {
  async function helpEntry() {
    const r = await releaseGate(["eks-token", "--help"], NO_AWS);
    expect(r.code, r.stderr).toBe(0);
    const yaml = r.stdout.slice(r.stdout.indexOf("  users:"));
    return { help: r.stdout, users: parse(yaml.replace(/^ {2}/gm, "")).users as Array<{ name: string; user: { exec: any } }> };
  }

  it("names this installation's Node and bin by absolute path, never npx (which would fetch the name from the registry)", async () => {
    const { help, users } = await helpEntry();
    expect(help).not.toMatch(/npx\s+release-gate/);
    const exec = users[0].user.exec;
    expect(exec.apiVersion).toBe("client.authentication.k8s.io/v1beta1");
    expect(isAbsolute(exec.command)).toBe(true);
    expect(exec.command).not.toMatch(/npx/);
    expect(exec.args).toEqual([BIN, "eks-token", "--cluster", "qualisys-prod", "--region", "eu-west-1"]);
  });

  it("works as is: the real kubectl, started elsewhere, runs it and sends its token to the API server", async () => {
    const { users } = await helpEntry();
    const seen: string[] = [];
    const pki = await makePki();
    const api = createServer({ cert: pki.valid.cert, key: pki.valid.key }, (req, res) => {
      seen.push(String(req.headers.authorization ?? ""));
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ major: "1", minor: "35", gitVersion: "v1.35.2" }));
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    const dir = await mkdtemp(join(tmpdir(), "eks-exec-"));
    try {
      const kubeconfig = join(dir, "config");
      const server = `https://127.0.0.1:${(api.address() as AddressInfo).port}`;
      await writeFile(
        kubeconfig,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "c", cluster: { server, "certificate-authority-data": Buffer.from(pki.ca).toString("base64") } }],
          users,
          contexts: [{ name: "c", context: { cluster: "c", user: users[0].name } }],
          "current-context": "c",
        }),
      );
      const kubectl = await resolveKubectl();
      // An empty directory and a PATH with no npx or node on it: the entry needs neither.
      const r = await execa(kubectl.path, ["--kubeconfig", kubeconfig, "get", "--raw", "/version"], {
        cwd: dir,
        reject: false,
        timeout: 60_000,
        extendEnv: false,
        env: {
          ...NO_AWS,
          HOME: dir,
          KUBECACHEDIR: join(dir, "cache"),
          PATH: "/nonexistent",
          AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
          AWS_SECRET_ACCESS_KEY: SECRET,
        },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ gitVersion: "v1.35.2" });
      expect(seen.length).toBeGreaterThan(0);
      const token = seen[0].replace(/^Bearer /, "");
      const url = tokenUrl(token);
      expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
      expect(url.searchParams.get("X-Amz-Signature")).toBe(
        expectedSignature(url, { host: url.host, "x-k8s-aws-id": "qualisys-prod" }, SECRET),
      );
    } finally {
      await new Promise((resolve) => api.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
