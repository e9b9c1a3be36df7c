/**
 * The kubeconfig `users:` entry that has kubectl get its EKS tokens from `release-gate eks-token`, by absolute paths
 * to a Node and to this bin. kubectl runs the command from whatever directory it was started in and without a
 * terminal: npx there would download and run whatever the registry holds under the (unpublished) name release-gate,
 * without asking.
 */
import { stringify } from "yaml";

export interface EksExecUserOptions {
  /** The user's name in the kubeconfig. */
  name: string;
  cluster: string;
  region: string;
  /** Absolute path of a Node 24 or later. */
  node: string;
  /** Absolute path of bin/release-gate.js. */
  bin: string;
}

export function eksExecUser(o: EksExecUserOptions) {
  return {
    name: o.name,
    user: {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: o.node,
        args: [o.bin, "eks-token", "--cluster", o.cluster, "--region", o.region],
      },
    },
  };
}

/** The same as kubeconfig YAML: `users:` and the one entry, ready to paste. */
export function eksExecUserYaml(o: EksExecUserOptions): string {
  return stringify({ users: [eksExecUser(o)] }, { collectionStyle: "block" });
}
