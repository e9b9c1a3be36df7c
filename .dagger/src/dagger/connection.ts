/**
 * The Dagger module's connection settings (its constructor arguments) checked before anything runs, and turned
 * into the CLI's cluster options. Plain data: index.ts maps Secrets and Services to what is set here.
 */

/** Which constructor arguments were given (values only for the plain strings). */
export interface ConnectionSettings {
  kubeconfig: boolean;
  context?: string;
  kubeApi: boolean;
  tlsServerName?: string;
  eksCluster?: string;
  awsRegion?: string;
  awsAccessKeyId: boolean;
  awsSecretAccessKey: boolean;
  awsSessionToken: boolean;
  awsRoleArn?: string;
  awsWebIdentityToken: boolean;
}

/**
 * The one-line reason these settings cannot work, or undefined. `needsCluster`: the function talks to a cluster
 * (plan and smoke do not, and accept no cluster settings being absent).
 */
export function connectionProblem(s: ConnectionSettings, needsCluster: boolean): string | undefined {
  const keys = s.awsAccessKeyId || s.awsSecretAccessKey || s.awsSessionToken;
  const role = s.awsRoleArn !== undefined || s.awsWebIdentityToken;
  if (s.kubeconfig && s.eksCluster !== undefined) return "--kubeconfig and --eks-cluster name two ways to reach the cluster: pass one";
  if (s.eksCluster === undefined) {
    if (s.awsRegion !== undefined || keys || role) return "--aws-region and AWS credentials only apply with --eks-cluster";
  } else {
    if (s.kubeApi || s.tlsServerName !== undefined)
      return "--kube-api and --tls-server-name reach a cluster on your machine and do not apply to --eks-cluster";
    if (s.context !== undefined) return "--context picks a kubeconfig context and does not apply to --eks-cluster";
    if (s.eksCluster.startsWith("arn:")) return "--eks-cluster takes the cluster's name (the part after cluster/ in its ARN), not the ARN";
    if (!s.awsRegion) return "--eks-cluster needs --aws-region";
    if (keys && role)
      return "pass AWS credentials one way: --aws-access-key-id/--aws-secret-access-key(/--aws-session-token), or --aws-role-arn with --aws-web-identity-token";
    if (keys && !(s.awsAccessKeyId && s.awsSecretAccessKey))
      return "--aws-access-key-id and --aws-secret-access-key go together (--aws-session-token with them for temporary credentials)";
    if (role && !(s.awsRoleArn && s.awsWebIdentityToken)) return "--aws-role-arn and --aws-web-identity-token go together";
    if (!keys && !role) {
      return (
        "--eks-cluster needs AWS credentials: --aws-access-key-id=env://AWS_ACCESS_KEY_ID " +
        "--aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY --aws-session-token=env://AWS_SESSION_TOKEN, " +
        "or --aws-role-arn with --aws-web-identity-token"
      );
    }
  }
  if (s.tlsServerName !== undefined && !s.kubeApi) return "--tls-server-name only applies with --kube-api";
  if (s.kubeApi && !s.kubeconfig) return "--kube-api needs --kubeconfig (the kubeconfig of the cluster it reaches)";
  if (s.context !== undefined && !s.kubeconfig) return "--context needs --kubeconfig";
  if (needsCluster && !s.kubeconfig && s.eksCluster === undefined) {
    return (
      "no cluster: pass --kubeconfig=file://PATH (add --kube-api=tcp://localhost:PORT --tls-server-name=localhost for kind on this machine), " +
      "or --eks-cluster with --aws-region and AWS credentials"
    );
  }
  return undefined;
}

/** The CLI's cluster options for these settings (secrets travel as environment variables, never here). */
export function clusterArgs(s: ConnectionSettings): string[] {
  const args: string[] = [];
  if (s.context !== undefined) args.push("--context", s.context);
  if (s.eksCluster !== undefined) args.push("--eks-cluster", s.eksCluster);
  if (s.awsRegion !== undefined) args.push("--aws-region", s.awsRegion);
  return args;
}
