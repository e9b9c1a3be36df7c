/**
 * The replicas "router": no traffic router at all. One Service selects both the stable and the canary pods,
 * so the split is the share of Ready pods. Coarse, but it works on any cluster.
 *
 * What the weight means here (stable is never changed before promotion, design invariants I2/I3):
 *   - setWeight(W) scales only the canary Deployment, to round(S × W / (100 − W)) replicas (at least 1 for
 *     W > 0), S being stable's spec.replicas, capped at `maxCanaryReplicas` (default S). W = 100 asks for the
 *     cap: with the default cap a "100 %" phase gets 50 % of the pods, never 100 %: stable keeps serving until
 *     promotion. `expectedWeight(W)` says what a weight really gives; verifyWeight compares against it.
 *   - getWeight() is the live share of Ready pods: 100 × canaryReady / (stableReady + canaryReady).
 *   - Traffic reaches a canary pod as soon as it is Ready (there is no weight 0 with canary pods up), so the
 *     pipeline cannot smoke-test the canary before users see it: canaryHeader() is undefined and the direct
 *     check must go to the canary pods another way (the canary Service, if one exists) or be skipped.
 *   - Rollback (reset) scales the canary to 0, which is also the only way to take traffic away from it.
 */
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { FailedError, UsageError } from "../errors.ts";
import type { CanaryHeader, TrafficRouter } from "./router.ts";
import { assertWeight } from "./ingress-nginx.ts";
import { isNotFound } from "../kube/api-errors.ts";

export interface ReplicasRouterOptions {
  namespace: string;
  /** The one Service whose selector picks both stable and canary pods. */
  service: string;
  stableDeployment: string;
  canaryDeployment: string;
  /** Upper bound for the canary's replicas; default: stable's replicas (so at most a 50 % share). */
  maxCanaryReplicas?: number;
}

/** Canary replicas for weight W next to S stable replicas (see the module comment). Pure. */
export function canaryReplicasFor(weight: number, stableReplicas: number, cap = stableReplicas): number {
  if (weight <= 0) return 0;
  const limit = Math.max(1, cap);
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
  readonly kind = "replicas" as const;
  readonly namespace: string;
  readonly service: string;
  readonly stableDeployment: string;
  readonly canaryDeployment: string;
  private readonly kube: Kube;
  private readonly maxCanaryReplicas: number | undefined;

  constructor(kube: Kube, opts: ReplicasRouterOptions) {
    this.kube = kube;
    this.namespace = opts.namespace;
    this.service = opts.service;
    this.stableDeployment = opts.stableDeployment;
    this.canaryDeployment = opts.canaryDeployment;
    this.maxCanaryReplicas = opts.maxCanaryReplicas;
  }

  private async deployment(name: string): Promise<k8s.V1Deployment | undefined> {
    try {
      return await this.kube.apps.readNamespacedDeployment({ name, namespace: this.namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async mustDeployment(name: string, what: string): Promise<k8s.V1Deployment> {
    const d = await this.deployment(name);
    if (!d) throw new FailedError(`Deployment ${this.namespace}/${name} not found, could not ${what}`);
    return d;
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

  /** The canary replicas setWeight(W) would set, from stable's live spec.replicas. */
  async canaryReplicas(weight: number): Promise<number> {
    assertWeight(weight, `Deployment ${this.namespace}/${this.canaryDeployment}`);
    const stable = await this.mustDeployment(this.stableDeployment, `size the canary for ${weight} %`);
    const s = stable.spec?.replicas ?? 1;
    return canaryReplicasFor(weight, s, this.maxCanaryReplicas ?? s);
  }

  /** The share a weight really gives once every pod is Ready (what verifyWeight expects). */
  async expectedWeight(weight: number): Promise<number> {
    const stable = await this.mustDeployment(this.stableDeployment, `compute the share for ${weight} %`);
    const s = stable.spec?.replicas ?? 1;
    return shareOf(canaryReplicasFor(weight, s, this.maxCanaryReplicas ?? s), s);
  }

  async setWeight(weight: number): Promise<void> {
    const replicas = await this.canaryReplicas(weight);
    await this.scaleCanary(replicas, `scale the canary to ${replicas} for ${weight} %`);
  }

  async getWeight(): Promise<number> {
    const [stable, canary] = await Promise.all([this.deployment(this.stableDeployment), this.deployment(this.canaryDeployment)]);
    return shareOf(canary?.status?.readyReplicas ?? 0, stable?.status?.readyReplicas ?? 0);
  }

  canaryHeader(): CanaryHeader | undefined {
    return undefined;
  }

  /** The canary scaled to 0: the only way to take traffic away from it behind a shared Service. */
  async reset(): Promise<void> {
    if (!(await this.deployment(this.canaryDeployment))) return;
    await this.scaleCanary(0, "scale the canary to 0");
  }

  private async scaleCanary(replicas: number, what: string): Promise<void> {
    try {
      await this.kube.apps.patchNamespacedDeploymentScale(
        { name: this.canaryDeployment, namespace: this.namespace, body: { spec: { replicas } } },
        mergePatch,
      );
    } catch (err) {
      if (isNotFound(err)) throw new FailedError(`Deployment ${this.namespace}/${this.canaryDeployment} not found, could not ${what}`);
      throw err;
    }
  }
}
