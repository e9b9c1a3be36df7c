/**
 * What Dagger builds for a rehearsal: the demo app image (Node pinned by digest, the module's own demo-app.ts and its
 * entry, the version and failure baked in, and named inside its archive so `kind load image-archive` tags it), and
 * the kind and kustomize binaries, built from source at pinned versions with their Go modules verified against the
 * Go checksum database (no architecture-specific checksum to keep, so they work on amd64 and arm64 engines alike).
 */
import { dag, type Container, type Directory } from "@dagger.io/dagger";
import type { DemoFailure } from "./demo-app.ts";
import { demoImageRef } from "./demo-versions.ts";

/** Alpine to build the tools on: the image Dagger v0.21.8's TypeScript runtime pins (sdk/typescript/runtime/tsdistconsts). */
const ALPINE_IMAGE = "alpine:3.22.2@sha256:4b7ce07002c69e8f3d704a9c5d6fd3053be500b7f1c69fc0d80990c2ad8dd412";
/**
 * The Go that builds kind and kustomize: Alpine 3.22's, pinned to its 1.24 series with apk's prefix match (a branch
 * serves only the newest build of each package, so an exact `=1.24.x-rN` would stop resolving at its next rebuild).
 */
export const GO_PACKAGE = "go~1.24";
/** kind, whose default node image kubernetes/local/kind.yaml pins (kindest/node v1.35.0). */
export const KIND_VERSION = "v0.31.0";
/** kustomize, to render kubernetes/local's overlays as `kubectl kustomize` would. */
export const KUSTOMIZE_VERSION = "v5.8.1";
/** The demo app's port inside its pods (kubernetes/production's containerPort `http`). */
export const DEMO_APP_PORT = 3000;

/** The demo app at `version`, misbehaving as `failure` says (none: a good version), on the pinned Node image `nodeImage`. */
export function demoAppImage(nodeImage: string, source: Directory, version: string, failure?: DemoFailure): Container {
  return (
    dag
      .container()
      .from(nodeImage)
      .withWorkdir("/app")
      // ESM for the entry, and for the .ts the entry imports (run by Node's type stripping; no dependencies).
      .withNewFile("/app/package.json", JSON.stringify({ name: "release-gate-demo-app", private: true, type: "module" }, null, 2))
      .withFile("/app/bin/demo-app.js", source.file("bin/demo-app.js"))
      .withFile("/app/.dagger/src/rehearsal/demo-app.ts", source.file(".dagger/src/rehearsal/demo-app.ts"))
      .withEnvVariable("APP_VERSION", version)
      // Explicit either way: a good version never misbehaves because of how its tag reads.
      .withEnvVariable("DEMO_APP_FAILURE", failure ?? "none")
      .withEnvVariable("PORT", String(DEMO_APP_PORT))
      .withEnvVariable("NODE_ENV", "production")
      .withExposedPort(DEMO_APP_PORT)
      .withUser("node")
      // The command, not an entrypoint: Kubernetes runs it as the image's CMD, and `as-service` (which runs default
      // args) too. The Node image's own entrypoint script is dropped.
      .withEntrypoint([])
      .withDefaultArgs(["node", "/app/bin/demo-app.js"])
      .withLabel("org.opencontainers.image.title", "release-gate demo app")
      .withLabel("org.opencontainers.image.version", version)
      // The name `ctr images import` (kind load image-archive) gives the image: the reference the overlays use.
      .withAnnotation("io.containerd.image.name", demoImageRef(version))
      .withAnnotation("org.opencontainers.image.ref.name", version)
  );
}

/** /kind and /kustomize, static binaries built with `go install` at the pinned versions. */
export function kindTools(): Directory {
  return dag
    .container()
    .from(ALPINE_IMAGE)
    .withExec(["apk", "add", "--no-cache", GO_PACKAGE])
    .withEnvVariable("CGO_ENABLED", "0")
    .withEnvVariable("GOBIN", "/out")
    .withEnvVariable("GOFLAGS", "-trimpath")
    .withMountedCache("/root/go/pkg/mod", dag.cacheVolume("release-gate-rehearsal-go-modules"))
    .withMountedCache("/root/.cache/go-build", dag.cacheVolume("release-gate-rehearsal-go-build"))
    .withExec(["go", "install", `sigs.k8s.io/kind@${KIND_VERSION}`])
    .withExec(["go", "install", `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`])
    .directory("/out");
}

/** kubernetes/local/<router> rendered by kustomize (what `kubectl kustomize kubernetes/local/<router>` prints). */
export function renderOverlay(source: Directory, tools: Directory, router: string) {
  return dag
    .container()
    .from(ALPINE_IMAGE)
    .withFile("/usr/local/bin/kustomize", tools.file("kustomize"))
    .withDirectory("/src/kubernetes", source.directory("kubernetes"))
    .withExec(["kustomize", "build", `/src/kubernetes/local/${router}`], { redirectStdout: "/out/overlay.yaml" })
    .file("/out/overlay.yaml");
}
