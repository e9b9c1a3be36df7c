/**
 * kind's kubeconfig names its API server at https://127.0.0.1:PORT, the host's loopback, which a Dagger container
 * cannot reach: there the API server is the host service --kube-api, bound as `kube-api:PORT`. This is the
 * rewrite, done exactly as `dagger call --kubeconfig … --kube-api … --tls-server-name localhost deploy` does it for
 * the CLI (kube/connect.ts): server → the bound host, kind's CA and credentials kept, certificate verified as
 * `localhost`. Nothing here writes the kubeconfig anywhere or prints it.
 */
import * as k8s from "@kubernetes/client-node";
import { loadKubeConfig, reachClusterAt } from "../kube/kubeconfig.ts";
import { UsageError } from "../errors.ts";
import { KIND_TLS_SERVER_NAME } from "./refusal.ts";

/** Where the toolbox reaches the API server: RELEASE_GATE_KUBE_API and RELEASE_GATE_TLS_SERVER_NAME, as the module sets them. */
export interface KubeApiRoute {
  /** host:port of the bound service, e.g. kube-api:6443. */
  hostPort: string;
  port: number;
  tlsServerName: string;
}

export function kubeApiRoute(env: NodeJS.ProcessEnv): KubeApiRoute {
  const hostPort = env.RELEASE_GATE_KUBE_API ?? "";
  const port = Number(/:(\d+)$/.exec(hostPort)?.[1]);
  if (!hostPort || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(
      `the rehearsal needs the API server's host service (RELEASE_GATE_KUBE_API=host:port, set by --kube-api), ` +
        `got ${JSON.stringify(hostPort)}; nothing was changed`,
    );
  }
  return { hostPort, port, tlsServerName: env.RELEASE_GATE_TLS_SERVER_NAME || KIND_TLS_SERVER_NAME };
}

/** kind's kubeconfig, reached through the bound host service. */
export function reachKind(kubeconfigText: string, route: KubeApiRoute): k8s.KubeConfig {
  return reachClusterAt(loadKubeConfig({ data: kubeconfigText, env: {} }), route.hostPort, route.tlsServerName);
}

/**
 * The environment the CLI gets for this kubeconfig: the same three variables the module's --kubeconfig, --kube-api
 * and --tls-server-name set in the toolbox, so the rehearsal's releases take the path `dagger call deploy` takes.
 */
export function cliClusterEnv(kubeconfigText: string, route: KubeApiRoute): Record<string, string> {
  return {
    RELEASE_GATE_KUBECONFIG: kubeconfigText,
    RELEASE_GATE_KUBE_API: route.hostPort,
    RELEASE_GATE_TLS_SERVER_NAME: route.tlsServerName,
  };
}

/**
 * kind's kubeconfig with its admin key replaced by a ServiceAccount's token: the same cluster, server and CA, so
 * the CLI releases with exactly the permissions kubernetes/production/rbac.yaml grants, as it would in production.
 */
export function tokenKubeconfig(kindKubeconfigText: string, user: string, token: string): string {
  const kind = loadKubeConfig({ data: kindKubeconfigText, env: {} });
  const cluster = kind.getCurrentCluster()!;
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: `${cluster.name}-${user}`, cluster: cluster.name, user }],
    currentContext: `${cluster.name}-${user}`,
  });
  return out.exportConfig();
}
