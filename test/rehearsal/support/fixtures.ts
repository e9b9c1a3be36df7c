/** Inputs the rehearsal's tests share: the module settings with nothing given, and the story's settings. */
import type { ConnectionSettings } from "#src/dagger/connection.ts";
import type { RehearsalSettings } from "#src/rehearsal/settings.ts";

/** No constructor argument given (override what a test gives). */
export const NO_SETTINGS: ConnectionSettings = {
  kubeconfig: false,
  kubeApi: false,
  awsAccessKeyId: false,
  awsSecretAccessKey: false,
  awsSessionToken: false,
  awsWebIdentityToken: false,
};

/** The story's settings as rehearse writes them for ingress-nginx and crash-loop, repository files relative. */
export function storySettings(over: Partial<RehearsalSettings> = {}, files: Partial<RehearsalSettings["files"]> = {}): RehearsalSettings {
  return {
    cluster: "release-gate-rehearsal",
    router: "ingress-nginx",
    failure: "crash-loop",
    deleteCluster: false,
    edge: { host: "edge", port: 8080 },
    versions: { stable: "1.0.0", good: "2.0.0", bad: "2.1.0-crash-loop" },
    images: [{ ref: "release-gate.local/demo:1.0.0", archive: "/run/release-gate-rehearsal/images/1.0.0.tar" }],
    files: {
      kindConfig: "kubernetes/local/kind.yaml",
      productionRelease: "kubernetes/production/release.yaml",
      overlay: "/run/release-gate-rehearsal/overlay.yaml",
      routerManifest: "/run/release-gate-rehearsal/router.yaml",
      routerLocal: "kubernetes/local/routers/ingress-nginx.yaml",
      ...files,
    },
    ...over,
  };
}
