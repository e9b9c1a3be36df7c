/**
 * The routers a rehearsal installs, pinned: which upstream manifest (by version and by sha256), which namespace it
 * lands in, and the local file
 * (kubernetes/local/routers/) applied over it to put the edge on the NodePort kind.yaml maps. Data only: the Dagger
 * side downloads the manifest, the story applies it.
 */
import type { RehearsalRouter } from "./release-config.ts";

export interface RouterInstall {
  router: RehearsalRouter;
  /** Product and version, for the timeline. */
  product: string;
  version: string;
  manifestUrl: string;
  /**
   * sha256 of the manifest, required: the engine verifies the download against it and fails the rehearsal, before
   * anything is applied, on any other content. Re-pin with `curl -sSfL <manifestUrl> | sha256sum` when the version
   * changes.
   */
  sha256: string;
  /** The namespace the manifest installs into; a cluster where the OTHER router's namespace exists is refused. */
  namespace: string;
  /** kubernetes/local/routers/<router>.yaml, applied after the manifest, under its own field manager. */
  localFile: string;
}

export const ROUTER_INSTALLS: Record<RehearsalRouter, RouterInstall> = {
  "ingress-nginx": {
    router: "ingress-nginx",
    product: "ingress-nginx",
    version: "controller-v1.15.1",
    // provider/baremetal: the controller behind a NodePort Service, no cloud load balancer.
    manifestUrl:
      "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/baremetal/deploy.yaml",
    sha256: "16b9b62df45b8ed8f1ecaed0341d583b3360e4b63c41fe00413f6a1fa2f95bec",
    namespace: "ingress-nginx",
    localFile: "kubernetes/local/routers/ingress-nginx.yaml",
  },
  "gateway-api": {
    router: "gateway-api",
    product: "Envoy Gateway",
    version: "v1.8.3",
    // Gateway API CRDs, Envoy Gateway's CRDs and the controller, as its install guide applies them (server-side).
    manifestUrl: "https://github.com/envoyproxy/gateway/releases/download/v1.8.3/install.yaml",
    // A release asset generated at release time (no git blob to derive it from). This value was not computed on the
    // machine that pinned it (it reaches only npm and Debian): it is the digest two unrelated public projects pin for
    // this same URL. A wrong pin fails closed (the download is refused); `curl -sSfL <manifestUrl> | sha256sum`
    // confirms it.
    sha256: "37a62afe9bb07d87e86c5c2cff32f046f17397cb4fca9f2a741165826212d781",
    namespace: "envoy-gateway-system",
    localFile: "kubernetes/local/routers/gateway-api.yaml",
  },
};

/** The namespaces of the routers other than `router`. */
export function otherRouterNamespaces(router: RehearsalRouter): string[] {
  return Object.values(ROUTER_INSTALLS)
    .filter((r) => r.router !== router)
    .map((r) => r.namespace);
}
