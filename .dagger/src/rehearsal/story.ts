/**
 * The rehearsal's story, run inside the toolbox with the Docker socket, kind and the host services: a kind cluster
 * (created from kubernetes/local/kind.yaml, or reused), refused unless it is kind on this machine's loopback; the
 * demo app images loaded; the router installed; kubernetes/local's overlay applied from a clean namespace, stable
 * serving through the edge; then the real `release-gate deploy` twice, as production's ServiceAccount: the good
 * version must be promoted, the bad one rolled back by itself with traffic back on the good one.
 *
 * Every outside effect goes through `deps`, so the order of the checks (nothing changes in a cluster before the
 * refusals passed) is tested with stand-ins.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDuration } from "../config/duration.ts";
import { FailedError, UsageError } from "../errors.ts";
import type { Kube } from "../kube/client.ts";
import { applyManifests, deleteNamespace, namespaceExists, parseManifests, waitForWorkloads, type Manifest } from "./apply.ts";
import { sampleEdge, waitForEdge, type EdgeSample } from "./edge.ts";
import { kindConfigFor, kindNodeImage, EDGE_NODE_PORT } from "./kind-config.ts";
import { controlPlaneNode, type KindCli } from "./kind-cli.ts";
import { tokenKubeconfig, type KubeApiRoute } from "./kube-api.ts";
import { checkKindNodes, kindKubeconfigProblems, refuseIf } from "./refusal.ts";
import { rehearsalReleaseConfig, type RehearsalConfig } from "./release-config.ts";
import { otherRouterNamespaces, ROUTER_INSTALLS } from "./routers.ts";
import type { RehearsalSettings } from "./settings.ts";
import { parseRecord, type ReleaseRun, type StoryResult } from "./timeline.ts";

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface StoryDeps {
  kind: KindCli;
  route: KubeApiRoute;
  /** A client for kind's kubeconfig, reached through the host service. */
  connect(kubeconfigText: string): Kube;
  /** `release-gate deploy --tag TAG --config CONFIG --json` with this kubeconfig (the CLI's cluster environment). */
  deploy(tag: string, configPath: string, kubeconfigText: string): Promise<CliRun>;
  log(line: string): void;
  now?: () => number;
  /** Overrides for the waits (tests); production values otherwise. */
  timeouts?: Partial<typeof TIMEOUTS>;
}

export const TIMEOUTS = {
  routerReady: 300_000,
  namespaceGone: 180_000,
  stableReady: 180_000,
  edgeServing: 180_000,
};

/** Field managers: the rehearsal's own objects, and the routers' local files applied over their manifests. */
const MANAGER = "release-gate-rehearsal";
const EDGE_MANAGER = "release-gate-rehearsal-edge";
const SAMPLES_AFTER = 20;

const lastLine = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);

/** The ServiceAccount a RoleBinding in `namespace` binds (production's RBAC for the CI identity), if one. */
export function boundServiceAccount(objects: Manifest[], namespace: string): string | undefined {
  for (const o of objects) {
    if (o.kind !== "RoleBinding" || o.metadata.namespace !== namespace) continue;
    const subjects = (o as { subjects?: Array<{ kind: string; name: string; namespace?: string }> }).subjects ?? [];
    const sa = subjects.find((s) => s.kind === "ServiceAccount" && (s.namespace ?? namespace) === namespace);
    if (sa) return sa.name;
  }
  return undefined;
}

export async function runStory(set: RehearsalSettings, deps: StoryDeps): Promise<StoryResult> {
  const now = deps.now ?? Date.now;
  const timeouts = { ...TIMEOUTS, ...deps.timeouts };
  const started = now();
  const install = ROUTER_INSTALLS[set.router];
  const node = controlPlaneNode(set.cluster);
  const edgeUrl = `http://${set.edge.host}:${set.edge.port}`;
  const result: StoryResult = {
    cluster: set.cluster,
    clusterReused: false,
    router: set.router,
    routerVersion: `${install.product} ${install.version}`,
    failure: set.failure,
    releasedAs: "—",
    setup: [],
    problems: [],
    totalMs: 0,
  };
  const phase = async <T>(name: string, fn: () => Promise<T>, detail?: (value: T) => string | undefined): Promise<T> => {
    deps.log(`${name}…`);
    const t0 = now();
    const value = await fn();
    const d = detail?.(value);
    result.setup.push({ name, ms: now() - t0, ...(d ? { detail: d } : {}) });
    deps.log(`${name}: done in ${formatDuration(now() - t0)}${d ? ` (${d})` : ""}`);
    return value;
  };
  const tmp = await mkdtemp(join(tmpdir(), "release-gate-rehearsal-"));
  // --delete-cluster deletes a cluster this run created or checked to be kind's on loopback; never one it refused.
  let deletable = false;
  try {
    // Nothing exists yet: the config must keep everything on loopback, and Docker must answer.
    const kindText = await readFile(set.files.kindConfig, "utf8");
    const kindYaml = kindConfigFor(kindText, { name: set.cluster, apiServerPort: deps.route.port, edgePort: set.edge.port });
    const nodeImage = kindNodeImage(kindText);
    if (nodeImage) result.nodeImage = nodeImage;
    const docker = await deps.kind.dockerVersion().catch((err: Error) => {
      throw new UsageError(`no Docker engine answers on --docker-socket (${err.message}); nothing was created`);
    });
    deps.log(`Docker engine ${docker}`);

    const exists = (await deps.kind.clusters()).includes(set.cluster);
    if (exists) {
      result.clusterReused = true;
      // Reused: its ports must be the ones this rehearsal reaches, on loopback (kind.yaml's rules, as created).
      const problems: string[] = [];
      for (const [what, containerPort, want] of [
        ["API server", 6443, deps.route.port],
        ["edge", EDGE_NODE_PORT, set.edge.port],
      ] as const) {
        const published = await deps.kind.hostPorts(node, containerPort);
        const ok = published.length > 0 && published.every((p) => /^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/.test(p) && p.endsWith(`:${want}`));
        if (!ok) problems.push(`its ${what} is published on ${published.join(", ") || "no host port"}, not 127.0.0.1:${want}`);
      }
      if (problems.length) {
        throw new UsageError(
          `refused to reuse kind cluster ${set.cluster}: ${problems.join("; ")}; ` +
            `pass the ports it has (--kube-api, --edge), or delete it (kind delete cluster --name ${set.cluster}); nothing was changed`,
        );
      }
      result.setup.push({ name: "kind cluster", ms: 0, detail: `reused ${set.cluster}` });
    } else {
      const configPath = join(tmp, "kind.yaml");
      await writeFile(configPath, kindYaml);
      await phase(
        "kind cluster",
        () => deps.kind.create(set.cluster, configPath),
        () => `created ${set.cluster} from kubernetes/local/kind.yaml`,
      );
      deletable = true;
    }

    // The cluster reached must be kind's on loopback before anything in it changes.
    const kubeconfig = await deps.kind.kubeconfig(set.cluster);
    refuseIf(
      kindKubeconfigProblems(kubeconfig, { name: set.cluster, apiServerPort: deps.route.port }),
      `the kubeconfig kind gave for ${set.cluster}`,
    );
    const kube = deps.connect(kubeconfig);
    await checkKindNodes(kube.core, set.cluster);
    deletable = true;
    for (const ns of otherRouterNamespaces(set.router)) {
      if (await namespaceExists(kube, ns)) {
        throw new UsageError(
          `refused: kind cluster ${set.cluster} already runs another router (namespace ${ns}), ` +
            `which holds the edge's NodePort ${EDGE_NODE_PORT}; ` +
            `rehearse ${set.router} on a cluster of its own (--cluster-name) or delete this one; nothing was changed`,
        );
      }
    }
    deps.log(`kind cluster ${set.cluster} checked: kubeconfig and nodes are kind's, on loopback`);

    await phase(
      "demo app images loaded",
      async () => {
        for (const image of set.images) await deps.kind.loadImageArchive(set.cluster, image.archive);
        const held = new Set(await deps.kind.nodeImages(node));
        const missing = set.images.filter((i) => !held.has(i.ref)).map((i) => i.ref);
        if (missing.length) throw new FailedError(`kind load image-archive left ${missing.join(", ")} missing on ${node}`);
      },
      () => set.images.map((i) => i.ref.split(":").at(-1)).join(", "),
    );

    await phase(
      `router ${set.router} installed`,
      async () => {
        const manifests = parseManifests(await readFile(set.files.routerManifest, "utf8"), install.manifestUrl);
        await applyManifests(kube, manifests, { fieldManager: MANAGER, log: deps.log });
        await waitForWorkloads(kube, install.namespace, timeouts.routerReady);
        const local = parseManifests(await readFile(set.files.routerLocal, "utf8"), install.localFile);
        await applyManifests(kube, local, { fieldManager: EDGE_MANAGER, log: deps.log });
      },
      () => `${install.product} ${install.version}`,
    );

    const config = rehearsalReleaseConfig(await readFile(set.files.productionRelease, "utf8"), set.router);
    const hosts = Object.values(config.urls).map((u) => new URL(u).hostname);
    const overlay = parseManifests(await readFile(set.files.overlay, "utf8"), `kubernetes/local/${set.router}`);
    await phase(
      `kubernetes/local/${set.router} applied, ${set.versions.stable} serving`,
      async () => {
        const reset = await deleteNamespace(kube, config.namespace, timeouts.namespaceGone);
        await applyManifests(kube, overlay, { fieldManager: MANAGER, log: deps.log });
        await waitForWorkloads(kube, config.namespace, timeouts.stableReady);
        // Envoy Gateway creates the Envoy Deployment for the Gateway only now.
        if (set.router === "gateway-api") await waitForWorkloads(kube, install.namespace, timeouts.routerReady);
        await waitForEdge(edgeUrl, hosts, set.versions.stable, timeouts.edgeServing);
        return reset;
      },
      (reset) => `${reset ? `namespace ${config.namespace} reset; ` : ""}${hosts.join(", ")} through the edge`,
    );

    await releaseBoth({ kube, kubeconfig, config, overlay, hosts, edgeUrl, tmp }, set, deps, result);
    return result;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    result.problems.push((err as Error).message.split("\n")[0]);
    return result;
  } finally {
    if (set.deleteCluster && deletable) {
      const t0 = now();
      await deps.kind
        .delete(set.cluster)
        .then(() => result.setup.push({ name: "kind cluster deleted", ms: now() - t0, detail: "--delete-cluster" }))
        .catch((err: Error) => result.problems.push(`could not delete kind cluster ${set.cluster}: ${err.message}`));
    }
    await rm(tmp, { recursive: true, force: true });
    result.totalMs = now() - started;
  }
}

/** What the releases need from the prepared cluster. */
export interface Prepared {
  kube: Pick<Kube, "core">;
  /** kind's own kubeconfig (the admin's). */
  kubeconfig: string;
  config: RehearsalConfig;
  overlay: Manifest[];
  hosts: string[];
  edgeUrl: string;
  tmp: string;
}

/**
 * The two releases, as production's ServiceAccount: the good version must be promoted; then the bad one must be
 * rolled back by itself, with every request through the edge answered by the good version afterwards. What went
 * otherwise is added to `result.problems`.
 */
export async function releaseBoth(p: Prepared, set: RehearsalSettings, deps: StoryDeps, result: StoryResult): Promise<void> {
  const now = deps.now ?? Date.now;
  const { kube, kubeconfig, config, overlay, hosts, edgeUrl, tmp } = p;
  // Release as production does: with the ServiceAccount production's RBAC binds, not kind's admin.
  const sa = boundServiceAccount(overlay, config.namespace);
  let releaseKubeconfig = kubeconfig;
  if (sa) {
    const token = await kube.core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: config.namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    if (!token.status?.token) throw new FailedError(`the TokenRequest for ServiceAccount ${config.namespace}/${sa} returned no token`);
    releaseKubeconfig = tokenKubeconfig(kubeconfig, sa, token.status.token);
    result.releasedAs = `ServiceAccount ${config.namespace}/${sa}, with the permissions kubernetes/production/rbac.yaml grants`;
  } else {
    result.releasedAs = "kind's admin (kubernetes/production binds no ServiceAccount to release with)";
  }
  const configPath = join(tmp, "release.yaml");
  await writeFile(configPath, config.text);

  const release = async (tag: string, expected: ReleaseRun["expected"]): Promise<ReleaseRun> => {
    deps.log(`release-gate deploy --tag ${tag} (expected: ${expected})`);
    const t0 = now();
    const r = await deps.deploy(tag, configPath, releaseKubeconfig);
    const record = parseRecord(r.stdout);
    const verdict = lastLine(r.stderr);
    return { tag, expected, exitCode: r.exitCode, ...(record ? { record } : {}), ...(verdict ? { verdict } : {}), ms: now() - t0 };
  };

  result.good = await release(set.versions.good, "succeeded");
  if (result.good.exitCode !== 0 || result.good.record?.outcome !== "succeeded") {
    result.problems.push(
      (
        `the good release ${set.versions.good} was not promoted ` +
        `(exit ${result.good.exitCode}, ${result.good.record?.outcome ?? "no record"}): ${result.good.verdict ?? ""}`
      ).trim(),
    );
    return;
  }
  result.bad = await release(set.versions.bad, "rolled-back");
  if (result.bad.exitCode !== 1 || result.bad.record?.outcome !== "rolled-back") {
    result.problems.push(
      (
        `the bad release ${set.versions.bad} was not rolled back by itself ` +
        `(exit ${result.bad.exitCode}, ${result.bad.record?.outcome ?? "no record"}): ${result.bad.verdict ?? ""}`
      ).trim(),
    );
  }
  const after: EdgeSample[] = [];
  for (const host of hosts) after.push(await sampleEdge(edgeUrl, host, SAMPLES_AFTER));
  result.afterRollback = after;
  for (const a of after) {
    const right = a.byVersion[set.versions.good] ?? 0;
    if (right !== a.total) {
      result.problems.push(
        `after the rollback only ${right}/${a.total} requests to ${a.host} were answered by ${set.versions.good}: ${JSON.stringify(a.byVersion)}`,
      );
    }
  }
}
