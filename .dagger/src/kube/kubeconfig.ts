/**
 * Where cluster credentials come from, in order: --kubeconfig PATH, a kubeconfig string (--kubeconfig-data or
 * RELEASE_GATE_KUBECONFIG, for CI secrets), then KUBECONFIG. A missing or unusable kubeconfig is a usage
 * error (exit 2) raised before any request; its content is never echoed, since it may hold tokens.
 */
import { existsSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { UsageError } from "../errors.ts";

export interface KubeconfigSource {
  path?: string;
  data?: string;
  /** The context to use instead of the kubeconfig's current-context (--context). */
  context?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(source: KubeconfigSource): k8s.KubeConfig {
  const env = source.env ?? process.env;
  const kc = new k8s.KubeConfig();
  const data = source.data ?? env.RELEASE_GATE_KUBECONFIG;
  let from: string;
  try {
    if (source.path) {
      from = `--kubeconfig ${source.path}`;
      if (!existsSync(source.path)) throw new UsageError(`kubeconfig ${source.path} does not exist; nothing was changed in the cluster`);
      kc.loadFromFile(source.path);
    } else if (data) {
      from = "the kubeconfig string (--kubeconfig-data / RELEASE_GATE_KUBECONFIG)";
      kc.loadFromString(data);
    } else if (env.KUBECONFIG) {
      const first = env.KUBECONFIG.split(":")[0];
      from = `KUBECONFIG=${env.KUBECONFIG}`;
      if (!existsSync(first))
        throw new UsageError(`kubeconfig ${first} (from KUBECONFIG) does not exist; nothing was changed in the cluster`);
      kc.loadFromFile(first);
    } else {
      throw new UsageError(
        "no kubeconfig: pass --kubeconfig PATH, set KUBECONFIG, or pass the kubeconfig itself in RELEASE_GATE_KUBECONFIG; nothing was changed in the cluster",
      );
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // The parser's message may quote the file; keep only its first line, which names the problem.
    const reason = err instanceof Error ? err.message.split("\n")[0] : "unreadable";
    throw new UsageError(`cannot load kubeconfig: ${reason}; nothing was changed in the cluster`);
  }
  if (source.context !== undefined) {
    if (!kc.contexts.some((c) => c.name === source.context)) {
      const known = kc.contexts.map((c) => c.name);
      const has = known.length ? known.join(", ") : "none";
      throw new UsageError(
        `--context ${source.context}: the kubeconfig from ${from} has no such context (it has: ${has}); nothing was changed in the cluster`,
      );
    }
    kc.setCurrentContext(source.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UsageError(`the kubeconfig from ${from} has no current context/cluster; nothing was changed in the cluster`);
  }
  return allowLoopbackHttp(kc);
}

/**
 * The same kubeconfig with its current cluster reached at another address, keeping its scheme, CA and credentials:
 * inside a Dagger container, a kind API server on the host's localhost is a bound service (`kube-api:PORT`), and
 * `tlsServerName` (localhost) keeps the certificate check meaningful. Applied after the cluster pin was checked
 * against the address the kubeconfig names.
 */
export function reachClusterAt(kc: k8s.KubeConfig, hostPort: string, tlsServerName?: string): k8s.KubeConfig {
  const current = kc.getCurrentCluster();
  if (!current) return kc;
  const url = new URL(current.server);
  const at = new URL(`${url.protocol}//${hostPort}`);
  url.host = at.host;
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) =>
      c.name === current.name ? { ...c, server: url.toString().replace(/\/$/, ""), ...(tlsServerName ? { tlsServerName } : {}) } : c,
    ),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}

const LOOPBACK_HTTP = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

/**
 * client-node refuses a plain-http server unless TLS verification is "skipped". A loopback http server (a
 * kubectl proxy, a local API simulator) has no TLS to verify, so that flag is set for those alone; any other
 * http:// server is still refused by client-node.
 */
function allowLoopbackHttp(kc: k8s.KubeConfig): k8s.KubeConfig {
  if (!kc.clusters.some((c) => LOOPBACK_HTTP.test(c.server) && !c.skipTLSVerify)) return kc;
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) => (LOOPBACK_HTTP.test(c.server) ? { ...c, skipTLSVerify: true } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}
