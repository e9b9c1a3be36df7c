/**
 * One bundle of typed Kubernetes API clients built from a KubeConfig. Everything in the pipeline talks to the
 * cluster through this (never through kubectl).
 *
 * Every typed client's transport retries transient failures (429 with Retry-After, 5xx, connection resets) with
 * backoff (transient.ts), so callers never write their own retry loops, and has a per-request timeout, so a
 * stalled API server fails a call instead of hanging it for undici's 300 s. Watches are neither retried nor
 * timed out here (k8s.Watch makes its own requests): a dropped watch is re-listed by whoever watches, and a
 * watch stays quiet as long as nothing changes.
 */
import * as k8s from "@kubernetes/client-node";
import { DEFAULT_RETRY, RetryingHttpLibrary, type RetryPolicy } from "./transient.ts";

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

export interface KubeOptions {
  /**
   * Retry policy for transient API errors, and the per-request timeout (`requestTimeoutMs`, default 10 s; reads
   * that time out are retried); `false` turns retries and the timeout off (tests of the raw behaviour).
   */
  retry?: Partial<RetryPolicy> | false;
}

export function kubeFromConfig(kc: k8s.KubeConfig, options: KubeOptions = {}): Kube {
  const make = clientFactory(kc, options);
  const objects = make(k8s.KubernetesObjectApi);
  // Same default namespace as KubernetesObjectApi.makeApiClient (protected there, so reached this way).
  (objects as unknown as { setDefaultNamespace(kc: k8s.KubeConfig): void }).setDefaultNamespace(kc);
  return {
    kc,
    apps: make(k8s.AppsV1Api),
    core: make(k8s.CoreV1Api),
    networking: make(k8s.NetworkingV1Api),
    coordination: make(k8s.CoordinationV1Api),
    custom: make(k8s.CustomObjectsApi),
    objects,
    watch: new k8s.Watch(kc),
  };
}

function clientFactory(kc: k8s.KubeConfig, options: KubeOptions) {
  if (options.retry === false) return <T>(api: new (c: k8s.Configuration) => T): T => kc.makeApiClient(api as never) as T;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const httpApi = new RetryingHttpLibrary({ ...DEFAULT_RETRY, ...options.retry });
  const configuration = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi,
  });
  return <T>(api: new (c: k8s.Configuration) => T): T => new api(configuration);
}
