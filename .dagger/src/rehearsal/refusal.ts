/**
 * The rehearsal runs on a kind cluster on this machine's loopback and nowhere else: its bad release must never
 * reach a real cluster by mistake. What is conclusive, checked in this order, each before anything changes:
 *
 * 1. the module's settings: no --kubeconfig, --context, --eks-cluster or AWS credentials (they name other
 *    clusters); the API server comes through --kube-api, verified as `localhost` (a name in kind's certificate);
 * 2. the kubeconfig, taken from kind itself (`kind get kubeconfig`, never from the user): context and cluster
 *    `kind-<name>`, server https on a loopback address at the --kube-api port, kind's CA, no skipped verification;
 * 3. the API server reached: every node's providerID is `kind://<provider>/<name>/<node>` (kind sets it; cloud
 *    nodes carry aws://, gce://…).
 *
 * The TLS handshake ties them together: the server reached through --kube-api must present a certificate signed by
 * the CA kind just handed out, so a port that leads anywhere else fails to connect. Each check returns every
 * problem it finds, or nothing.
 */
import type * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { z } from "zod";
import type { ConnectionSettings } from "../dagger/connection.ts";
import { UsageError } from "../errors.ts";

const NOTHING = "nothing was changed";

/** The TLS server name kind's API server certificate carries (with 127.0.0.1 and the kubeadm names). */
export const KIND_TLS_SERVER_NAME = "localhost";

/** Why these module settings cannot rehearse, or undefined. */
export function rehearseSettingsProblem(s: ConnectionSettings, example: string): string | undefined {
  const aws = s.eksCluster !== undefined || s.awsRegion !== undefined || s.awsAccessKeyId || s.awsSecretAccessKey || s.awsSessionToken;
  if (aws || s.awsRoleArn !== undefined || s.awsWebIdentityToken) {
    return `rehearse runs on a kind cluster on this machine only; --eks-cluster and AWS credentials name a real cluster: drop them; ${NOTHING}`;
  }
  if (s.kubeconfig || s.context !== undefined) {
    return `rehearse takes its kubeconfig from kind itself, never from --kubeconfig or --context (they could name a real cluster): drop them; ${NOTHING}`;
  }
  if (!s.kubeApi) return `rehearse reaches kind's API server through --kube-api, a port on this machine: ${example}; ${NOTHING}`;
  if (s.tlsServerName !== undefined && s.tlsServerName !== KIND_TLS_SERVER_NAME) {
    return (
      `rehearse verifies kind's API server certificate as ${KIND_TLS_SERVER_NAME}, not ${JSON.stringify(s.tlsServerName)}: ` +
      `pass --tls-server-name=${KIND_TLS_SERVER_NAME} or leave it out; ${NOTHING}`
    );
  }
  return undefined;
}

const kubeconfigSchema = z.looseObject({
  "current-context": z.string().optional(),
  clusters: z.array(z.looseObject({ name: z.string(), cluster: z.looseObject({}) })).default([]),
  contexts: z.array(z.looseObject({ name: z.string(), context: z.looseObject({ cluster: z.string().optional() }) })).default([]),
});

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Every reason the kubeconfig kind gave is not the one of cluster `name` with its API server on this machine's
 * loopback port `apiServerPort`. Its content is never quoted (it holds the cluster's admin key).
 */
export function kindKubeconfigProblems(text: string, o: { name: string; apiServerPort: number }): string[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return ["it is not YAML"];
  }
  const r = kubeconfigSchema.safeParse(raw);
  if (!r.success) return ["it is not a kubeconfig"];
  const kc = r.data;
  const expected = `kind-${o.name}`;
  const problems: string[] = [];
  const current = kc["current-context"];
  if (current !== expected) problems.push(`its current context is ${JSON.stringify(current ?? null)}, not ${expected}`);
  const context = kc.contexts.find((c) => c.name === current);
  const clusterName = context?.context.cluster;
  if (clusterName !== expected) problems.push(`its context's cluster is ${JSON.stringify(clusterName ?? null)}, not ${expected}`);
  const cluster = kc.clusters.find((c) => c.name === clusterName)?.cluster as Record<string, unknown> | undefined;
  if (!cluster) return [...problems, "it has no entry for that cluster"];
  let server: URL | undefined;
  try {
    server = new URL(String(cluster.server));
  } catch {
    problems.push("its server is not a URL");
  }
  if (server) {
    if (server.protocol !== "https:") problems.push(`its server speaks ${server.protocol.replace(":", "")}, not https`);
    if (!isLoopbackHost(server.hostname)) problems.push(`its server ${server.host} is not on this machine's loopback`);
    if (Number(server.port || 443) !== o.apiServerPort) {
      problems.push(`its server is on port ${server.port || 443}, not the --kube-api port ${o.apiServerPort}`);
    }
  }
  if (typeof cluster["certificate-authority-data"] !== "string" || !cluster["certificate-authority-data"]) {
    problems.push("it carries no certificate-authority-data (kind's CA)");
  }
  if (cluster["insecure-skip-tls-verify"] === true) problems.push("it skips TLS verification");
  return problems;
}

/** Every node that is not a node of kind cluster `name` (by its providerID), or that there are none. */
export function kindNodeProblems(nodes: Array<Pick<k8s.V1Node, "metadata" | "spec">>, name: string): string[] {
  if (nodes.length === 0) return ["the API server lists no nodes"];
  return nodes.flatMap((n) => {
    const node = n.metadata?.name ?? "?";
    const id = n.spec?.providerID;
    const expected = new RegExp(
      `^kind://[a-z]+/${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${node.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`,
    );
    return id && expected.test(id) ? [] : [`node ${node} has providerID ${JSON.stringify(id ?? null)}, not kind://…/${name}/${node}`];
  });
}

/** Throws the refusal (exit 2) for `problems` about `what`, or returns. */
export function refuseIf(problems: string[], what: string): void {
  if (problems.length) {
    throw new UsageError(
      `refused to rehearse: ${what} is not a kind cluster on this machine's loopback: ${problems.join("; ")}; ${NOTHING}`,
    );
  }
}

/** Reads the nodes of the cluster reached and refuses unless all are kind cluster `name`'s. Changes nothing. */
export async function checkKindNodes(core: k8s.CoreV1Api, name: string): Promise<void> {
  const list = await core.listNode();
  refuseIf(kindNodeProblems(list.items, name), "the cluster reached through --kube-api");
}
