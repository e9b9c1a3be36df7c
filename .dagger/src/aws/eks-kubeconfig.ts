/**
 * A KubeConfig for an EKS cluster built from DescribeCluster (endpoint, CA) and the EKS token authenticator, with
 * the AWS principal checked first (GetCallerIdentity), so bad credentials are refused before anything else.
 */
import * as k8s from "@kubernetes/client-node";
import type { AwsClientOptions } from "./client-config.ts";
import { describeEksCluster, type EksCluster } from "./eks-cluster.ts";
import { EKS_USER, EksTokenAuthenticator } from "./eks-authenticator.ts";
import { callerIdentity, type CallerIdentity } from "./identity.ts";

export interface EksConnection {
  kc: k8s.KubeConfig;
  cluster: EksCluster;
  identity: CallerIdentity;
  authenticator: EksTokenAuthenticator;
}

export interface EksConnectOptions {
  cluster: string;
  region: string;
  credentials: AwsClientOptions["credentials"];
  /** Test stand-ins for STS and EKS (endpoint, request handler). */
  sts?: Partial<AwsClientOptions>;
  eks?: Partial<AwsClientOptions>;
  now?: () => Date;
}

export async function connectEks(o: EksConnectOptions): Promise<EksConnection> {
  const base = { region: o.region, credentials: o.credentials };
  const identity = await callerIdentity({ ...base, ...o.sts });
  const cluster = await describeEksCluster(o.cluster, { ...base, ...o.eks });
  const authenticator = new EksTokenAuthenticator({
    cluster: o.cluster,
    region: o.region,
    credentials: o.credentials,
    ...(o.now ? { now: o.now } : {}),
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: cluster.arn, server: cluster.endpoint, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: EKS_USER }],
    contexts: [{ name: cluster.arn, cluster: cluster.arn, user: EKS_USER }],
    currentContext: cluster.arn,
  });
  kc.addAuthenticator(authenticator);
  return { kc, cluster, identity, authenticator };
}
