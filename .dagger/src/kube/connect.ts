/**
 * Which cluster a command talks to, decided once from its options: a kubeconfig (--kubeconfig, KUBECONFIG or
 * RELEASE_GATE_KUBECONFIG, with --context), or an EKS cluster reached with AWS credentials (--eks-cluster,
 * --aws-region). Missing or conflicting settings are refused (exit 2) before any request; the release.yaml pin
 * (`cluster:`) is checked before anything in the cluster is read or changed.
 */
import type * as k8s from "@kubernetes/client-node";
import { standardCredentials } from "../aws/credentials.ts";
import { connectEks, type EksConnectOptions } from "../aws/eks-kubeconfig.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import { loadKubeConfig, reachClusterAt } from "./kubeconfig.ts";

export interface ClusterSource {
  kubeconfig?: string;
  context?: string;
  eksCluster?: string;
  awsRegion?: string;
}

export interface ClusterConnection {
  kc: k8s.KubeConfig;
  /** The API server as the kubeconfig or DescribeCluster names it (before any Dagger redirect). */
  server: string;
  /** The kubeconfig's cluster entry name, or the EKS cluster ARN. */
  clusterName: string;
  /** The kubeconfig context used, when from a kubeconfig. */
  context?: string;
  /** EKS only: the cluster's ARN and the AWS principal the release runs as. */
  eksArn?: string;
  deployedAs?: string;
}

const NOTHING = "nothing was changed in the cluster";

/** The one-line reason these settings cannot be used, or undefined. Checked before anything is read. */
export function clusterSourceProblem(s: ClusterSource, env: NodeJS.ProcessEnv): string | undefined {
  if (s.eksCluster !== undefined) {
    if (s.kubeconfig) return `--eks-cluster and --kubeconfig name two ways to reach the cluster: pass one; ${NOTHING}`;
    if (env.RELEASE_GATE_KUBECONFIG)
      return `--eks-cluster and RELEASE_GATE_KUBECONFIG name two ways to reach the cluster: pass one; ${NOTHING}`;
    if (s.context) return `--context picks a kubeconfig context and does not apply to --eks-cluster; ${NOTHING}`;
    if (s.eksCluster.startsWith("arn:"))
      return `--eks-cluster takes the cluster's name (the part after cluster/ in its ARN), not the ARN; ${NOTHING}`;
    if (!(s.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION))
      return `--eks-cluster needs the cluster's region: pass --aws-region or set AWS_REGION; ${NOTHING}`;
    return undefined;
  }
  if (s.awsRegion !== undefined) return `--aws-region only applies with --eks-cluster; ${NOTHING}`;
  return undefined;
}

export async function connectCluster(
  s: ClusterSource,
  env: NodeJS.ProcessEnv = process.env,
  aws: Pick<EksConnectOptions, "sts" | "eks" | "now"> = {},
): Promise<ClusterConnection> {
  const problem = clusterSourceProblem(s, env);
  if (problem) throw new UsageError(problem);
  if (s.eksCluster !== undefined) {
    const region = (s.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION)!;
    const eks = await connectEks({ cluster: s.eksCluster, region, credentials: standardCredentials(region), ...aws });
    return {
      kc: eks.kc,
      server: eks.cluster.endpoint,
      clusterName: eks.cluster.arn,
      eksArn: eks.cluster.arn,
      deployedAs: eks.identity.arn,
    };
  }
  const kc = loadKubeConfig({ ...(s.kubeconfig ? { path: s.kubeconfig } : {}), ...(s.context ? { context: s.context } : {}), env });
  const cluster = kc.getCurrentCluster()!;
  return { kc, server: cluster.server, clusterName: cluster.name, context: kc.getCurrentContext() };
}

/** Normalised for comparison: lower-case scheme and host, default port dropped, no trailing slash. */
function normalServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`.toLowerCase();
  } catch {
    return url.trim().toLowerCase();
  }
}

/**
 * Refuses (exit 2, nothing changed) a connection to anything but the cluster release.yaml pins production to.
 * What is compared is only what decides where requests go: an EKS connection's ARN and endpoint come from
 * eks:DescribeCluster; a kubeconfig proves nothing but its server URL (its cluster and context names are free
 * text anyone can set to an ARN). So an ARN pin is verified against a kubeconfig only through the pin's `server`,
 * an ARN pin without one refuses a kubeconfig outright, and a pinned run refuses the Dagger --kube-api redirect.
 */
export function checkClusterPin(pin: ReleaseConfig["cluster"], c: ClusterConnection, env: NodeJS.ProcessEnv = process.env): void {
  if (!pin) return;
  // A redirect would send the requests somewhere other than the server compared below.
  if (env.RELEASE_GATE_KUBE_API) {
    throw new UsageError(
      `release.yaml pins production to ${pin.eksClusterArn ?? pin.server}, but --kube-api sends this run's requests to ${env.RELEASE_GATE_KUBE_API} ` +
        `instead of the server the pin is checked against; --kube-api is for a cluster on your machine: drop it, or the pin; ${NOTHING}`,
    );
  }
  const where = c.eksArn
    ? `EKS cluster ${c.eksArn} (${c.server})`
    : `kubeconfig context ${c.context ?? "?"} (cluster ${c.clusterName}, server ${c.server})`;
  const refuse = (pinned: string, why = "") =>
    new UsageError(`release.yaml pins production to ${pinned}, but this run would reach ${where}${why}; refusing, ${NOTHING}`);
  if (pin.eksClusterArn !== undefined) {
    if (c.eksArn !== undefined && c.eksArn !== pin.eksClusterArn) throw refuse(`EKS cluster ${pin.eksClusterArn}`);
    if (c.eksArn === undefined && pin.server === undefined) {
      const [, , , region, , , name] = pin.eksClusterArn.split(/[:/]/);
      throw refuse(
        `EKS cluster ${pin.eksClusterArn}`,
        `, and a kubeconfig's cluster and context names prove nothing about where it connects: add the cluster's endpoint to the pin ` +
          `as \`server:\` (\`aws eks describe-cluster --name ${name} --region ${region} --query cluster.endpoint\`), or pass --eks-cluster`,
      );
    }
  }
  if (pin.server !== undefined && normalServer(pin.server) !== normalServer(c.server)) {
    throw refuse(pin.eksClusterArn !== undefined ? `EKS cluster ${pin.eksClusterArn} at ${pin.server}` : `the API server ${pin.server}`);
  }
}

/**
 * Inside the Dagger toolbox, the API server named by the kubeconfig may be reached through a bound host service:
 * RELEASE_GATE_KUBE_API (host:port) and RELEASE_GATE_TLS_SERVER_NAME, set by the module's --kube-api and
 * --tls-server-name. Applied after the pin check, which compares the address the kubeconfig names.
 */
export function applyDaggerRedirect(c: ClusterConnection, env: NodeJS.ProcessEnv = process.env): ClusterConnection {
  const at = env.RELEASE_GATE_KUBE_API;
  if (!at) return c;
  if (c.eksArn) throw new UsageError(`--kube-api reaches a cluster on your machine and does not apply to --eks-cluster; ${NOTHING}`);
  return { ...c, kc: reachClusterAt(c.kc, at, env.RELEASE_GATE_TLS_SERVER_NAME || undefined) };
}
