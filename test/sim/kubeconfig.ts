/**
 * A kubeconfig for the simulator: plain HTTP on loopback; no credentials (the admin) or a bearer token the
 * simulator maps to an identity (api/authorization.ts). `insecure-skip-tls-verify` is set
 * because @kubernetes/client-node 2.x refuses an `http:` server without it ("HTTP protocol is not allowed when
 * skipTLSVerify is not set or false"); kubectl ignores it for plain HTTP.
 */
import { writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { stringify } from "yaml";

export interface KubeconfigOptions {
  namespace?: string;
  /** A bearer token the simulator maps to an identity (see api/authorization.ts); none: the admin. */
  token?: string;
  /** The kubeconfig's user entry name (default release-gate-sim). */
  user?: string;
}

export function kubeconfigYaml(url: string, opts: KubeconfigOptions = {}): string {
  const user = opts.user ?? "release-gate-sim";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "release-gate-sim", cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: user, user: opts.token ? { token: opts.token } : {} }],
    contexts: [
      {
        name: "release-gate-sim",
        context: { cluster: "release-gate-sim", user, ...(opts.namespace ? { namespace: opts.namespace } : {}) },
      },
    ],
    "current-context": "release-gate-sim",
    preferences: {},
  });
}

export async function writeKubeconfig(url: string, path: string, opts: KubeconfigOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, kubeconfigYaml(url, opts), { mode: 0o600 });
}
