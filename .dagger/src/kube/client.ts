/**
 * One bundle of typed Kubernetes API clients built from a KubeConfig. Everything in the pipeline talks to the
 * cluster through this (never through kubectl).
 */
import * as k8s from "@kubernetes/client-node";

export interface Kube {
  kc: k8s.KubeConfig;
  apps: k8s.AppsV1Api;
  core: k8s.CoreV1Api;
  networking: k8s.NetworkingV1Api;
  coordination: k8s.CoordinationV1Api;
  /** For kinds without a typed client here, such as gateway.networking.k8s.io HTTPRoutes. */
  custom: k8s.CustomObjectsApi;
  objects: k8s.KubernetesObjectApi;
  watch: k8s.Watch;
}

export function kubeFromConfig(kc: k8s.KubeConfig): Kube {
  return {
    kc,
    apps: kc.makeApiClient(k8s.AppsV1Api),
    core: kc.makeApiClient(k8s.CoreV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
    watch: new k8s.Watch(kc),
  };
}
