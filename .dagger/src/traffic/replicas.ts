/**
 * The replicas "router": no traffic router at all. One Service selects both the stable and the canary pods,
 * so the split is the share of Ready pods. Coarse, but it works on any cluster.
 *
 * What the weight means here (stable is never changed before promotion, design invariants I2/I3):
 *   - canaryReplicas(W, S) = round(S × W / (100 − W)) (at least 1 for W > 0), S being stable's replicas, at
 *     most S: a "100 %" phase gets 50 % of the pods, never 100 %, since stable keeps serving until promotion.
 *     setWeight(W) scales only the canary Deployment to that; expectedWeight(W, S) is the share it gives, which
 *     is what verification compares with.
 *   - getWeight() is the live share of Ready pods: 100 × canaryReady / (stableReady + canaryReady).
 *   - Traffic reaches a canary pod as soon as it is Ready (there is no weight 0 with canary pods up), so the
 *     canary cannot be smoke-tested before users see it: canaryHeader is undefined.
 *   - Rollback (reset) scales the canary to 0, which is also the only way to take traffic away from it.
 *   - The canary Deployment's spec.replicas is what carries the weight (stable is not changed before promotion): it is
 *     the object watched during observation, so a canary scaled by anyone else is a weight change like a route's.
 */
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { FailedError, UsageError } from "../errors.ts";
import { assertWeight, type ObjectRef, type RouterInputs, type RouterType, type TrafficRouter, type WatchedRoute } from "./router.ts";
import { ifExists, isNotFound } from "../kube/api-errors.ts";

export interface ReplicasRouterOptions {
  namespace: string;
  /** The service's name in release.yaml. */
  serviceName?: string;
  /** The one Service whose selector picks both stable and canary pods. */
  service: string;
  stableDeployment: string;
  canaryDeployment: string;
}

/** Canary replicas for weight W next to S stable replicas (see the module comment). Pure. */
export function canaryReplicasFor(weight: number, stableReplicas: number): number {
  if (weight <= 0) return 0;
  const limit = Math.max(1, stableReplicas);
  if (weight >= 100) return limit;
  return Math.min(limit, Math.max(1, Math.round((stableReplicas * weight) / (100 - weight))));
}

/** The canary share (percent) of `canary` Ready pods next to `stable` Ready pods. */
export const shareOf = (canary: number, stable: number): number => (canary + stable > 0 ? (100 * canary) / (canary + stable) : 0);

const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const sel = Object.entries(selector ?? {});
  return sel.length > 0 && sel.every(([k, v]) => labels?.[k] === v);
}

export class ReplicasRouter implements TrafficRouter {
  readonly namespace: string;
  readonly service: string;
  readonly stableDeployment: string;
  readonly canaryDeployment: string;
  readonly name: string;
  readonly services: readonly string[];
  readonly objects: readonly ObjectRef[];
  readonly canaryHeader = undefined;
  /** The canary Deployment: its size next to stable's is the weight. */
  readonly watched: readonly WatchedRoute[];
  private readonly kube: Kube;
  /** Stable's desired replicas as last read (sizing, read-back): what a canary's size is a share of. */
  private stableReplicas: number | undefined;

  constructor(kube: Kube, opts: ReplicasRouterOptions) {
    this.kube = kube;
    this.namespace = opts.namespace;
    this.service = opts.service;
    this.stableDeployment = opts.stableDeployment;
    this.canaryDeployment = opts.canaryDeployment;
    this.name = `replicas Deployment ${this.namespace}/${this.canaryDeployment}`;
    this.services = [opts.serviceName ?? opts.service];
    this.objects = [{ kind: "Deployment", namespace: this.namespace, name: this.canaryDeployment }];
    this.watched = [
      {
        ref: this.objects[0]!,
        path: `/apis/apps/v1/namespaces/${this.namespace}/deployments`,
        list: () =>
          this.kube.apps.listNamespacedDeployment({ namespace: this.namespace, fieldSelector: `metadata.name=${this.canaryDeployment}` }),
        weightIn: (o) => this.weightOfSize((o as k8s.V1Deployment | undefined)?.spec?.replicas ?? 0),
        weightFields: [["f:spec", "f:replicas"]],
      },
    ];
  }

  /** The share `canaryReplicas` give next to stable as last read (a deleted canary has none); throws before any read. */
  private weightOfSize(canaryReplicas: number): number {
    if (canaryReplicas === 0) return 0;
    if (this.stableReplicas === undefined) throw new Error(`stable Deployment ${this.namespace}/${this.stableDeployment} not read yet`);
    return shareOf(canaryReplicas, this.stableReplicas);
  }

  canaryReplicas(weight: number, stableReplicas: number): number {
    return canaryReplicasFor(weight, stableReplicas);
  }

  /** The share a weight really gives once every pod is Ready (what verification expects). */
  expectedWeight(weight: number, stableReplicas: number): number {
    return shareOf(canaryReplicasFor(weight, stableReplicas), stableReplicas);
  }

  private deployment(name: string): Promise<k8s.V1Deployment | undefined> {
    return ifExists(() => this.kube.apps.readNamespacedDeployment({ name, namespace: this.namespace }));
  }

  async preflight(): Promise<void> {
    let svc: k8s.V1Service;
    try {
      svc = await this.kube.core.readNamespacedService({ name: this.service, namespace: this.namespace });
    } catch (err) {
      if (isNotFound(err))
        throw new UsageError(`Service ${this.namespace}/${this.service} not found: the replicas router needs it; nothing was changed`);
      throw err;
    }
    for (const name of [this.stableDeployment, this.canaryDeployment]) {
      const d = await this.deployment(name);
      if (!d) throw new UsageError(`Deployment ${this.namespace}/${name} not found: the replicas router needs it; nothing was changed`);
      if (!selects(svc.spec?.selector, d.spec?.template?.metadata?.labels)) {
        throw new UsageError(
          `Service ${this.namespace}/${this.service} does not select the pods of Deployment ${name} (selector ${JSON.stringify(svc.spec?.selector ?? {})}): ` +
            `the replicas router needs one Service over both stable and canary pods; nothing was changed`,
        );
      }
    }
  }

  /** Nothing to create: the Service already spans both Deployments. */
  async prepare(): Promise<void> {}

  /** Scale the canary to its share for `weight` next to stable's replicas as they are now. */
  async setWeight(weight: number): Promise<void> {
    assertWeight(weight, `Deployment ${this.namespace}/${this.canaryDeployment}`);
    let replicas = 0;
    if (weight > 0) {
      const stable = await this.deployment(this.stableDeployment);
      if (!stable)
        throw new FailedError(`Deployment ${this.namespace}/${this.stableDeployment} not found, could not size the canary for ${weight} %`);
      this.stableReplicas = stable.spec?.replicas ?? 1;
      replicas = canaryReplicasFor(weight, this.stableReplicas);
    }
    try {
      await this.scaleCanary(replicas, `scale the canary to ${replicas} for ${weight} %`);
    } catch (err) {
      if (!(weight === 0 && err instanceof CanaryMissing)) throw err; // No canary Deployment: weight 0 is already true.
    }
  }

  async getWeight(): Promise<number> {
    const [stable, canary] = await Promise.all([this.deployment(this.stableDeployment), this.deployment(this.canaryDeployment)]);
    if (stable) this.stableReplicas = stable.spec?.replicas ?? 1;
    return shareOf(canary?.status?.readyReplicas ?? 0, stable?.status?.readyReplicas ?? 0);
  }

  /** The canary scaled to 0: the only way to take traffic away from it behind a shared Service. */
  async reset(): Promise<void> {
    try {
      await this.scaleCanary(0, "scale the canary to 0");
    } catch (err) {
      if (!(err instanceof CanaryMissing)) throw err; // No canary Deployment: no canary pod gets traffic.
    }
  }

  /** The one Service over both tracks must exist: it is all users reach. */
  async stableRouteProblems(): Promise<string[]> {
    try {
      await this.kube.core.readNamespacedService({ name: this.service, namespace: this.namespace });
      return [];
    } catch (err) {
      if (isNotFound(err)) return [`Service ${this.namespace}/${this.service} does not exist: users reach no pod`];
      throw err;
    }
  }

  private async scaleCanary(replicas: number, what: string): Promise<void> {
    try {
      await this.kube.apps.patchNamespacedDeploymentScale(
        { name: this.canaryDeployment, namespace: this.namespace, body: { spec: { replicas } } },
        mergePatch,
      );
    } catch (err) {
      if (isNotFound(err)) throw new CanaryMissing(`Deployment ${this.namespace}/${this.canaryDeployment} not found, could not ${what}`);
      throw err;
    }
  }
}

class CanaryMissing extends FailedError {}

/** replicas: one router per service (its share depends on that service's own replicas). */
export const replicas: RouterType = {
  kind: "replicas",
  headerRouting: false,
  canaryReplicas: canaryReplicasFor,
  describeSizing: (weight, services) =>
    `scale the canary of ${services} to its ${weight}% share of Ready pods (with no router, that sets the weight)`,
  describeWeight: () => undefined,
  describeRoute: () => "no route object (one Service over both tracks)",
  build: (kube: Kube, inputs: RouterInputs) =>
    inputs.services.map(
      (s) =>
        new ReplicasRouter(kube, {
          namespace: inputs.namespace,
          serviceName: s.name,
          service: s.stableService,
          stableDeployment: s.stableDeployment,
          canaryDeployment: s.canaryDeployment,
        }),
    ),
};
