/**
 * Preflight reads of production: every Deployment, container and Service release.yaml names must exist
 * (otherwise a UsageError, exit 2, before anything changed), and what stable runs now is captured so a
 * rollback can put it back.
 */
import type * as k8s from "@kubernetes/client-node";
import type { ReleaseConfig, ServiceConfig } from "../config/schema.ts";
import { imageRef, repositoryOf, type ImageVersion } from "../config/image-ref.ts";
import { UsageError } from "../errors.ts";
import type { Kube } from "../kube/client.ts";
import { describeApiError, isNotFound } from "../kube/api-errors.ts";
import { containerImage, templateOf } from "../kube/deployments.ts";
import { createRouters, type RouterInputs, type TrafficRouter } from "../traffic/index.ts";
import type { ServiceBefore } from "./state.ts";

export function routerInputs(config: ReleaseConfig): RouterInputs {
  return {
    kind: config.router.kind,
    namespace: config.namespace,
    canaryHeader: config.router.canaryHeader,
    services: config.services.map((s) => ({
      name: s.name,
      stableDeployment: s.stable.deployment,
      canaryDeployment: s.canary.deployment,
      stableService: s.stable.service,
      canaryService: s.canary.service,
      ...(s.route.ingress ? { ingress: s.route.ingress } : {}),
      // No ruleIndex in release.yaml: undefined, i.e. the router's default (every rule sending to stable).
      ...(s.route.httpRoute
        ? { httpRoute: s.route.httpRoute, ...(s.route.ruleIndex !== undefined ? { ruleIndex: s.route.ruleIndex } : {}) }
        : {}),
    })),
  };
}

export function buildRouters(kube: Kube, config: ReleaseConfig): TrafficRouter[] {
  return createRouters(kube, routerInputs(config));
}

async function mustRead<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) throw new UsageError(`${what} does not exist (named in release.yaml); nothing was changed in the cluster`);
    throw new UsageError(`cannot read ${what}: ${describeApiError(err)}; nothing was changed in the cluster`);
  }
}

function requireContainer(d: k8s.V1Deployment, svc: ServiceConfig, ns: string): string {
  const image = containerImage(d, svc.container);
  if (!image) {
    const names = d.spec?.template?.spec?.containers?.map((c) => c.name).join(", ") ?? "none";
    throw new UsageError(
      `Deployment ${ns}/${d.metadata?.name} has no container "${svc.container}" (it has: ${names}); check services[].container in release.yaml; nothing was changed in the cluster`,
    );
  }
  return image;
}

/** Read and check everything a release touches; returns stable's state before the release. */
export async function readProduction(kube: Kube, config: ReleaseConfig, version: ImageVersion | undefined): Promise<ServiceBefore[]> {
  const ns = config.namespace;
  return Promise.all(
    config.services.map(async (svc) => {
      const [stable, canary] = await Promise.all([
        mustRead(`Deployment ${ns}/${svc.stable.deployment}`, () =>
          kube.apps.readNamespacedDeployment({ name: svc.stable.deployment, namespace: ns }),
        ),
        mustRead(`Deployment ${ns}/${svc.canary.deployment}`, () =>
          kube.apps.readNamespacedDeployment({ name: svc.canary.deployment, namespace: ns }),
        ),
        mustRead(`Service ${ns}/${svc.stable.service}`, () => kube.core.readNamespacedService({ name: svc.stable.service, namespace: ns })),
        ...(config.router.kind === "replicas"
          ? []
          : [
              mustRead(`Service ${ns}/${svc.canary.service}`, () =>
                kube.core.readNamespacedService({ name: svc.canary.service, namespace: ns }),
              ),
            ]),
      ]);
      const previousImage = requireContainer(stable, svc, ns);
      requireContainer(canary, svc, ns);
      const repository = svc.image ?? repositoryOf(previousImage);
      return {
        name: svc.name,
        stableDeployment: svc.stable.deployment,
        canaryDeployment: svc.canary.deployment,
        container: svc.container,
        previousImage,
        newImage: version ? imageRef(repository, version) : previousImage,
        previousTemplate: templateOf(stable),
        stableReplicas: stable.spec?.replicas ?? 1,
      };
    }),
  );
}

/** Canary replicas for a phase: its share of stable's replicas, at least 1; all of them at 100 %. */
export function canaryReplicas(weight: number, stableReplicas: number): number {
  if (weight >= 100) return Math.max(1, stableReplicas);
  return Math.max(1, Math.ceil((stableReplicas * weight) / 100));
}
