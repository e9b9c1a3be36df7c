/**
 * Preflight. Before the lock, read-only, so bad input is refused (UsageError, exit 2) with nothing changed in the
 * cluster: the tag, the plan's budget, every Deployment and container release.yaml names, the routers' objects,
 * the smoke suites and token, and metric analysis's queries (when the run will observe). Under the lock, from the
 * run's watch: what production runs now (what a rollback puts back), and whether it is at rest.
 */
import type * as k8s from "@kubernetes/client-node";
import { preflightAnalysis } from "../analysis/index.ts";
import { assertImmutableTag, imageRef, parseVersion, repositoryOf, versionOf, type ImageVersion } from "../config/image-ref.ts";
import type { ReleaseConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import type { ClusterWatch } from "../health/cluster-watch.ts";
import { containerImage, revisionOf } from "../kube/deployments.ts";
import { releasedTagOf } from "../kube/released-tag.ts";
import { routingFor, type Routing } from "../traffic/routing.ts";
import type { PipelineEnv, SmokePlan } from "./context.ts";
import type { ServiceInFlight } from "./journal.ts";
import { assertWithinBudget, planRelease } from "./plan.ts";
import { planSmoke } from "./smoke-services.ts";

export interface Checked {
  /** The version released (absent for rollback, which releases nothing). */
  version?: ImageVersion;
  routing: Routing;
  smoke: SmokePlan;
}

export interface CheckOptions {
  tag?: string;
  skipCanary?: boolean;
  /** A command that moves a new version (deploy, canary, promote); rollback is not, and is refused nothing here. */
  releasing: boolean;
  /** The plan's step the run starts from, when it walks the plan (deploy, deploy --resume). */
  planFrom?: number;
  /** A mutable tag (`latest`, release.yaml's mutableTags) is released on purpose. */
  allowMutableTag?: boolean;
  signal?: AbortSignal;
}

/** The read-only checks. Rollback is refused nothing here: it must be able to repair whatever it finds. */
export async function checkInputs(env: PipelineEnv, o: CheckOptions): Promise<Checked> {
  const { kube, config } = env;
  const routing = routingFor(kube, config);
  if (!o.releasing) return { routing, smoke: new Map() };
  const version = parseVersion(o.tag ?? "");
  assertImmutableTag(version, config.mutableTags, o.allowMutableTag ?? false);
  const plan = planRelease(config, { skipCanary: o.skipCanary ?? false });
  assertWithinBudget(plan);
  const deployments = await listDeployments(env);
  for (const svc of config.services) {
    const stable = mustExist(deployments, svc.stable.deployment, config.namespace);
    mustExist(deployments, svc.canary.deployment, config.namespace);
    requireContainer(stable, svc.container, config.namespace);
    requireContainer(deployments.get(svc.canary.deployment)!, svc.container, config.namespace);
    if (stable.spec?.revisionHistoryLimit === 0) {
      throw new UsageError(
        `Deployment ${config.namespace}/${svc.stable.deployment} keeps no old ReplicaSet (spec.revisionHistoryLimit: 0), so a failed ` +
          `promotion could not be undone: ` +
          "set it to 1 or more; nothing was changed in the cluster",
      );
    }
  }
  await Promise.all(routing.routers.map((r) => r.preflight()));
  const smoke = await planSmoke(config, env.smokeToken, env.progress, env.resolve);
  // Metric analysis: every query once before the canary gets traffic (UsageError when one is refused).
  if (o.planFrom !== undefined && plan.steps.slice(o.planFrom).some((s) => s.step.kind === "canary" && s.step.observeMs > 0)) {
    await preflightAnalysis(env, { services: config.services.map((s) => s.name), ...(o.signal ? { signal: o.signal } : {}) });
  }
  return { version, routing, smoke };
}

async function listDeployments(env: PipelineEnv): Promise<Map<string, k8s.V1Deployment>> {
  const list = await env.kube.apps.listNamespacedDeployment({ namespace: env.config.namespace });
  return new Map(list.items.map((d) => [d.metadata?.name ?? "", d]));
}

function mustExist(deployments: Map<string, k8s.V1Deployment>, name: string, ns: string): k8s.V1Deployment {
  const d = deployments.get(name);
  if (!d) throw new UsageError(`Deployment ${ns}/${name} does not exist (named in release.yaml); nothing was changed in the cluster`);
  return d;
}

function requireContainer(d: k8s.V1Deployment, container: string, ns: string): string {
  const image = containerImage(d, container);
  if (!image) {
    const names = d.spec?.template?.spec?.containers?.map((c) => c.name).join(", ") ?? "none";
    throw new UsageError(
      `Deployment ${ns}/${d.metadata?.name} has no container "${container}" (it has: ${names}); check services[].container in release.yaml; ` +
        `nothing was changed in the cluster`,
    );
  }
  return image;
}

/**
 * What production runs now, per service, as the run's watch sees it under the lock: stable's image, version,
 * revision and replicas (what a rollback puts back), and the canary with the image `version` gives it (stable's
 * own image when releasing nothing). A release (`version`) is refused (UsageError) when a Deployment or container
 * is missing; a rollback (no version) works around a missing one: it is a fact to report, not a reason to stop.
 */
export function productionNow(cluster: ClusterWatch, config: ReleaseConfig, version: ImageVersion | undefined): ServiceInFlight[] {
  const ns = config.namespace;
  const missing = (name: string) => new UsageError(`Deployment ${ns}/${name} does not exist (named in release.yaml); nothing was changed`);
  return config.services.map((svc) => {
    const stable = cluster.deployment(svc.stable.deployment);
    if (!stable && version) throw missing(svc.stable.deployment);
    if (!cluster.deployment(svc.canary.deployment) && version) throw missing(svc.canary.deployment);
    const image = stable ? requireContainer(stable, svc.container, ns) : `(Deployment ${svc.stable.deployment} missing)`;
    const repository = svc.image ?? repositoryOf(image);
    return {
      name: svc.name,
      container: svc.container,
      stable: {
        deployment: svc.stable.deployment,
        service: svc.stable.service,
        image,
        // Pinned by digest at its promotion, stable still reports its tag: the template says which, for that digest only.
        version: releasedTagOf(stable?.spec?.template?.metadata?.annotations, image) ?? versionOf(image),
        revision: (stable && revisionOf(stable)) ?? "",
        replicas: stable ? (stable.spec?.replicas ?? 1) : 0,
      },
      canary: { deployment: svc.canary.deployment, service: svc.canary.service, image: version ? imageRef(repository, version) : image },
      route: {
        ...(svc.route.ingress ? { ingress: svc.route.ingress } : {}),
        ...(svc.route.httpRoute ? { httpRoute: svc.route.httpRoute } : {}),
        ...(svc.route.ruleIndex !== undefined ? { ruleIndex: svc.route.ruleIndex } : {}),
      },
    };
  });
}

/** What keeps production from being at rest (canary weight 0, canaries at 0 replicas): one phrase each. */
export async function restProblems(
  routing: Routing,
  cluster: ClusterWatch,
  services: Array<{ canary: { deployment: string } }>,
): Promise<string[]> {
  const weights = await routing.weights();
  const busy = services
    .map((s) => cluster.deployment(s.canary.deployment))
    .filter((d): d is k8s.V1Deployment => (d?.spec?.replicas ?? 0) > 0)
    .map((d) => `${d.metadata?.name} has ${d.spec?.replicas} replicas`);
  const unreadable = weights.filter((w) => w.weight === null).map((w) => `the canary weight of ${w.router} cannot be read (${w.error})`);
  const live = weights.filter((w) => w.weight !== null).map((w) => w.weight!);
  if (live.some((w) => w !== 0)) busy.unshift(`canary weight is ${live.map((w) => Math.round(w * 10) / 10).join("/")}`);
  return [...unreadable, ...busy];
}

/**
 * With no release in flight, production must be at rest (canary weight 0, canary at 0 replicas): anything else
 * was changed by hand, and a release on top of it would start from a state nobody recorded.
 */
export async function assertAtRest(routing: Routing, cluster: ClusterWatch, config: ReleaseConfig): Promise<void> {
  const busy = await restProblems(
    routing,
    cluster,
    config.services.map((s) => ({ canary: { deployment: s.canary.deployment } })),
  );
  if (busy.length) {
    throw new UsageError(
      `refused: production is not at rest (${busy.join(", ")}) and no release is recorded in flight; run \`release-gate rollback\` to ` +
        `return to rest first; nothing was changed`,
    );
  }
}
