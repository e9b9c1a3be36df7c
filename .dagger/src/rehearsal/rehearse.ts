/**
 * `dagger call rehearse`: checks its arguments (refused with exit 2 before anything is built), builds the demo app
 * images, kind and kustomize, renders the overlay, downloads the pinned router manifest, and runs the story
 * (story.ts, through bin/rehearsal.js) in the toolbox with the Docker socket, kind, the API server's host service
 * (bound exactly as the other functions bind --kube-api) and the edge's. Returns the timeline, or the failure for
 * index.ts to raise with the story's exit code.
 */
import { randomUUID } from "node:crypto";
import { dag, ReturnType, type Container, type Directory, type File, type Service, type Socket } from "@dagger.io/dagger";
import { formatDuration } from "../config/duration.ts";
import type { ConnectionSettings } from "../dagger/connection.ts";
import { failureOf, refusal, type Failure } from "../dagger/failure.ts";
import { DEMO_FAILURES, isDemoFailure, type DemoFailure } from "./demo-app.ts";
import { badVersion, demoImageRef, GOOD_VERSION, STABLE_VERSION } from "./demo-versions.ts";
import { demoAppImage, kindTools, renderOverlay } from "./images.ts";
import { checkClusterName } from "./kind-config.ts";
import { KIND_TLS_SERVER_NAME, rehearseSettingsProblem } from "./refusal.ts";
import { isRehearsalRouter, ROUTERS, type RehearsalRouter } from "./release-config.ts";
import { ROUTER_INSTALLS } from "./routers.ts";
import type { RehearsalSettings } from "./settings.ts";

/** Where the rehearsal's files are mounted in the toolbox. */
const DIR = "/run/release-gate-rehearsal";
/** The edge's host service is bound under this name in the toolbox. */
const EDGE_HOST = "edge";
/** The story's settings file, as the toolbox sees it. */
export const SETTINGS_PATH = `${DIR}/settings.json`;

export const REHEARSE_EXAMPLE =
  "dagger call --kube-api=tcp://localhost:6443 rehearse --docker-socket=/var/run/docker.sock --edge=tcp://localhost:8080";

export interface RehearseContext {
  source: Directory;
  /** The module's constructor arguments, for the refusal. */
  settings: ConnectionSettings;
  /** Node 24 with the CLI and its dependencies: the toolbox before any cluster setting. */
  cli(): Container;
  /** Binds the module's cluster settings the way every function does (here --kube-api and --tls-server-name). */
  connect(c: Container): Promise<Container>;
  /** The pinned Node image the demo app runs on (the toolbox's own). */
  nodeImage: string;
}

export interface RehearseOptions {
  dockerSocket: Socket;
  edge: Service;
  router: string;
  failure: string;
  clusterName: string;
  deleteCluster: boolean;
}

export type RehearseOutcome = { timeline: string } | { failure: Failure };

/** The failure name, or the refusal listing the ones there are. */
export function demoFailureArg(value: string, allowNone: boolean): DemoFailure | undefined | Failure {
  if (allowNone && (value === "none" || value === "")) return undefined;
  if (isDemoFailure(value)) return value;
  return refusal(
    `--failure ${JSON.stringify(value)}: not one of ${[...(allowNone ? ["none"] : []), ...DEMO_FAILURES].join(", ")}; nothing was built`,
  );
}

/** Refusals of the function's own arguments, before anything is built. */
export function rehearseArgsProblem(
  ctx: Pick<RehearseContext, "settings">,
  o: Pick<RehearseOptions, "router" | "failure" | "clusterName">,
): Failure | undefined {
  const settings = rehearseSettingsProblem(ctx.settings, REHEARSE_EXAMPLE);
  if (settings) return refusal(`release-gate rehearse: ${settings}`);
  if (!isRehearsalRouter(o.router))
    return refusal(`release-gate rehearse: --router ${JSON.stringify(o.router)}: not one of ${ROUTERS.join(", ")}; nothing was changed`);
  const f = demoFailureArg(o.failure, false);
  if (f && typeof f === "object") return { ...f, message: `release-gate rehearse: ${f.message}` };
  try {
    checkClusterName(o.clusterName);
  } catch (err) {
    return refusal(`release-gate rehearse: ${(err as Error).message}`);
  }
  return undefined;
}

async function firstPort(svc: Service, what: string): Promise<number | Failure> {
  const [port] = await svc.ports();
  if (!port) return refusal(`release-gate rehearse: ${what}: the service exposes no port; pass tcp://localhost:PORT; nothing was changed`);
  return port.port();
}

export async function rehearse(ctx: RehearseContext, o: RehearseOptions): Promise<RehearseOutcome> {
  const started = Date.now();
  const problem = rehearseArgsProblem(ctx, o);
  if (problem) return { failure: problem };
  const edgePort = await firstPort(o.edge, "--edge");
  if (typeof edgePort !== "number") return { failure: edgePort };

  const plan = rehearsalPlan(ctx, {
    router: o.router as RehearsalRouter,
    failure: o.failure as DemoFailure,
    clusterName: o.clusterName,
    deleteCluster: o.deleteCluster,
    edgePort,
  });
  // docker-cli and kind go in before the cluster settings are bound: that layer stays cached between runs.
  const connected = await ctx.connect(withKindTools(ctx.cli(), plan.tools));
  const run = storyExec(connected, plan, { dockerSocket: o.dockerSocket, edge: o.edge, tlsServerName: ctx.settings.tlsServerName });
  const [exitCode, stdout, stderr] = await Promise.all([run.exitCode(), run.stdout(), run.stderr()]);
  const total = `**Total with Dagger's builds** (demo app images, kind and kustomize, the toolbox): ${formatDuration(Date.now() - started)}\n`;
  if (exitCode !== 0) return { failure: failureOf("rehearse", { exitCode, stdout: stdout + total, stderr }) };
  return { timeline: stdout + total };
}

/** What one rehearsal builds and the settings the story reads: pure, so the wiring can be checked without an engine. */
export interface RehearsalPlan {
  settings: RehearsalSettings;
  images: Array<{ version: string; image: Container }>;
  tools: Directory;
  overlay: File;
  manifest: File;
}

export function rehearsalPlan(
  ctx: Pick<RehearseContext, "source" | "nodeImage">,
  o: { router: RehearsalRouter; failure: DemoFailure; clusterName: string; deleteCluster: boolean; edgePort: number },
): RehearsalPlan {
  const versions = { stable: STABLE_VERSION, good: GOOD_VERSION, bad: badVersion(o.failure) };
  const images = [
    { version: versions.stable, image: demoAppImage(ctx.nodeImage, ctx.source, versions.stable) },
    { version: versions.good, image: demoAppImage(ctx.nodeImage, ctx.source, versions.good) },
    { version: versions.bad, image: demoAppImage(ctx.nodeImage, ctx.source, versions.bad, o.failure) },
  ];
  const tools = kindTools();
  const install = ROUTER_INSTALLS[o.router];
  return {
    settings: {
      cluster: o.clusterName,
      router: o.router,
      failure: o.failure,
      deleteCluster: o.deleteCluster,
      edge: { host: EDGE_HOST, port: o.edgePort },
      versions,
      images: images.map((i) => ({ ref: demoImageRef(i.version), archive: `${DIR}/images/${i.version}.tar` })),
      files: {
        // The repository's own files, as uploaded into the toolbox (its working directory).
        kindConfig: "kubernetes/local/kind.yaml",
        productionRelease: "kubernetes/production/release.yaml",
        routerLocal: install.localFile,
        overlay: `${DIR}/overlay.yaml`,
        routerManifest: `${DIR}/router.yaml`,
      },
    },
    images,
    tools,
    overlay: renderOverlay(ctx.source, tools, o.router),
    manifest: dag.http(install.manifestUrl, { checksum: `sha256:${install.sha256}` }),
  };
}

/**
 * The docker CLI kind drives, from the toolbox's Alpine (3.23, whose branch carries Docker 29). Pinned to the major
 * version with apk's prefix match: an Alpine branch serves only the newest build of each package, so an exact
 * `=29.x.y-rN` would stop resolving at its next rebuild.
 */
export const DOCKER_CLI_PACKAGE = "docker-cli~29";

/** The toolbox with the docker CLI (Alpine's) and kind. */
export function withKindTools(toolbox: Container, tools: Directory): Container {
  return toolbox.withExec(["apk", "add", "--no-cache", DOCKER_CLI_PACKAGE]).withFile("/usr/local/bin/kind", tools.file("kind"));
}

/** The story's exec in the connected toolbox: every input mounted where the settings say, never cached. */
export function storyExec(
  connected: Container,
  plan: RehearsalPlan,
  o: { dockerSocket: Socket; edge: Service; tlsServerName?: string },
): Container {
  let c = connected;
  // kind's API server certificate names localhost (--tls-server-name may say so too, nothing else: see refusal.ts).
  if (!o.tlsServerName) c = c.withEnvVariable("RELEASE_GATE_TLS_SERVER_NAME", KIND_TLS_SERVER_NAME);
  plan.images.forEach((i, n) => (c = c.withMountedFile(plan.settings.images[n].archive, i.image.asTarball())));
  const settingsFile = dag
    .directory()
    .withNewFile("settings.json", JSON.stringify(plan.settings, null, 2))
    .file("settings.json");
  return (
    c
      .withUnixSocket("/var/run/docker.sock", o.dockerSocket)
      .withServiceBinding(plan.settings.edge.host, o.edge)
      .withMountedFile(plan.settings.files.overlay, plan.overlay)
      .withMountedFile(plan.settings.files.routerManifest, plan.manifest)
      .withMountedFile(SETTINGS_PATH, settingsFile)
      // Never cached: the function is cache "never", and this makes the exec itself run again too.
      .withEnvVariable("RELEASE_GATE_CACHE_BUSTER", `${Date.now()}-${randomUUID()}`)
      .withExec(["node", "bin/rehearsal.js", SETTINGS_PATH], { expect: ReturnType.Any })
  );
}
