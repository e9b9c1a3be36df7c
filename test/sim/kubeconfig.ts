/**
 * A kubeconfig for the simulator: plain HTTP on loopback, no credentials. `insecure-skip-tls-verify` is set
 * because @kubernetes/client-node 2.x refuses an `http:` server without it ("HTTP protocol is not allowed when
 * skipTLSVerify is not set or false"); kubectl ignores it for plain HTTP.
 */
import { writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { stringify } from "yaml";

export function kubeconfigYaml(url: string, opts: { namespace?: string } = {}): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "release-gate-sim", cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: "release-gate-sim", user: {} }],
    contexts: [
      {
        name: "release-gate-sim",
        context: { cluster: "release-gate-sim", user: "release-gate-sim", ...(opts.namespace ? { namespace: opts.namespace } : {}) },
      },
    ],
    "current-context": "release-gate-sim",
    preferences: {},
  });
}

export async function writeKubeconfig(url: string, path: string, opts: { namespace?: string } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, kubeconfigYaml(url, opts), { mode: 0o600 });
}
