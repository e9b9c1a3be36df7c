/**
 * Building a pipeline run's environment from command options: release.yaml, the kubeconfig, who is running
 * (for the lock and the record), and where public URLs are reached.
 */
import { userInfo } from "node:os";
import type { ApprovalRecord } from "../audit/record.ts";
import { loadReleaseConfig } from "../config/load.ts";
import { kubeFromConfig } from "../kube/client.ts";
import { applyDaggerRedirect, checkClusterPin, connectCluster, type ClusterSource } from "../kube/connect.ts";
import { defaultIdentity } from "../kube/lease-lock.ts";
import type { PipelineEnv } from "../pipeline/context.ts";
import { silentProgress, streamProgress } from "../pipeline/progress.ts";
import { parseResolve } from "../smoke/public-url.ts";

export interface EnvOptions extends ClusterSource {
  config?: string;
  /** No progress output (read-only commands). Progress goes to stderr, so --json on stdout stays clean either way. */
  quiet?: boolean;
  smokeToken?: string;
  /** Approvals checked against GitHub (deploy with a GitHub run); else RELEASE_GATE_APPROVERS, self-reported. */
  approval?: ApprovalRecord;
  env?: NodeJS.ProcessEnv;
}

export async function pipelineEnv(o: EnvOptions): Promise<PipelineEnv> {
  const env = o.env ?? process.env;
  // Config first: a bad release.yaml is refused before the kubeconfig is even read.
  const { config } = await loadReleaseConfig(o.config);
  // The cluster, and the release.yaml pin checked, before anything in it is read or changed.
  const cluster = await connectCluster(o, env);
  checkClusterPin(config.cluster, cluster, env);
  const kc = applyDaggerRedirect(cluster, env).kc;
  const resolve = parseResolve(env.RELEASE_GATE_RESOLVE);
  const progress = o.quiet ? silentProgress : streamProgress();
  const approval = o.approval ?? selfReported(env, progress);
  // Who triggered it, named the same in the record and in the lock (whose holder must never read "unknown" when
  // the record knows better): the Actions actor, who started the run GitHub approved, or the account running this.
  const triggeredBy =
    env.GITHUB_ACTOR ||
    (approval?.source === "github" ? (approval.triggeringActor ?? approval.actor) : undefined) ||
    env.USER ||
    loginName() ||
    "unknown";
  const ciRun = ciRunOf(env) ?? (approval?.source === "github" ? approval.runUrl : undefined);
  return {
    kube: kubeFromConfig(kc),
    config,
    progress,
    identity: defaultIdentity({ ...env, GITHUB_ACTOR: triggeredBy }),
    triggeredBy,
    ...(approval ? { approval } : {}),
    ...(ciRun ? { ciRun } : {}),
    ...(o.smokeToken ? { smokeToken: o.smokeToken } : {}),
    ...(cluster.deployedAs ? { deployedAs: cluster.deployedAs } : {}),
    resolve,
  };
}

/**
 * RELEASE_GATE_APPROVERS (comma-separated) names approvers for a local run; the record labels them self-reported.
 * Ignored inside GitHub Actions, where approvers come from the run's approvals and nothing else.
 */
function selfReported(env: NodeJS.ProcessEnv, progress: { warn(m: string): void }): ApprovalRecord | undefined {
  const approvers = env.RELEASE_GATE_APPROVERS?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!approvers?.length) return undefined;
  if (env.GITHUB_ACTIONS === "true") {
    progress.warn("RELEASE_GATE_APPROVERS is ignored in GitHub Actions: approvers come from the run's approvals (--github-run)");
    return undefined;
  }
  return { source: "self-reported", approvers: approvers.map((login) => ({ login })) };
}

/** The Actions run this process belongs to, with its page: "qualisys/platform run 123 (https://github.com/…/actions/runs/123)". */
export function ciRunOf(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.GITHUB_RUN_ID) return undefined;
  const page = env.GITHUB_REPOSITORY
    ? ` (${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID})`
    : "";
  return `${env.GITHUB_REPOSITORY ?? ""} run ${env.GITHUB_RUN_ID}${page}`.trim();
}

/** The account running the CLI where USER is not set (containers, CI images); userInfo throws without a passwd entry. */
function loginName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
