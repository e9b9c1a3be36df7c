/** An EKS cluster's API endpoint, CA and ARN (eks:DescribeCluster), so no kubeconfig and no AWS CLI are needed. */
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { UsageError } from "../errors.ts";
import { clientConfig, type AwsClientOptions } from "./client-config.ts";
import { awsError } from "./errors.ts";

export interface EksCluster {
  name: string;
  arn: string;
  /** https://….eks.amazonaws.com */
  endpoint: string;
  /** Base64 PEM, as a kubeconfig's certificate-authority-data. */
  caData: string;
}

export async function describeEksCluster(name: string, o: AwsClientOptions): Promise<EksCluster> {
  const client = new EKSClient(clientConfig(o));
  let cluster;
  try {
    cluster = (await client.send(new DescribeClusterCommand({ name }))).cluster;
  } catch (err) {
    throw awsError(
      err,
      `looking up EKS cluster ${name} in ${o.region} (eks:DescribeCluster)`,
      "the role needs eks:DescribeCluster on this cluster",
    );
  } finally {
    client.destroy();
  }
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data || !cluster.arn) {
    throw new UsageError(
      `EKS cluster ${name} in ${o.region} has no API endpoint yet (status ${cluster?.status ?? "unknown"}); nothing was changed in the cluster`,
    );
  }
  return { name, arn: cluster.arn, endpoint: cluster.endpoint, caData: cluster.certificateAuthority.data };
}
