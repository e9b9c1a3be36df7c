/**
 * Scenario harness: a simulator started from the real production manifests (`kubectl apply -k
 * kubernetes/production` with the real kubectl), a release.yaml derived from the production one with short
 * windows, an in-process pipeline environment, and a recorder of every store event for invariant checks.
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { kubectlFor, type KubectlRunner } from "./kubectl.ts";
import { overlayWithComponents } from "./kustomize.ts";
import { startSim, type Sim, type ScenarioInput } from "../sim/index.ts";
import type { KObject, StoreEvent } from "../sim/store.ts";
import { loadReleaseConfig } from "#src/config/load.ts";
import { kubeFromConfig } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import type { PipelineEnv } from "#src/pipeline/context.ts";
import type { Progress } from "#src/pipeline/progress.ts";
import { parseResolve } from "#src/smoke/public-url.ts";

export const NS = "production";
export const DEPLOYMENTS = "apps/v1/deployments";
export const PODS = "/v1/pods";
export const INGRESSES = "networking.k8s.io/v1/ingresses";
export const HTTPROUTES = "gateway.networking.k8s.io/v1/httproutes";
export const CONFIGMAPS = "/v1/configmaps";
export const LEASES = "coordination.k8s.io/v1/leases";

export const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
export const OLD = "1.0.0";

/**
 * Who the pipeline runs as: what an EKS access entry makes of the GitHub OIDC role's session (its ARN as the user,
 * the entry's Kubernetes group). The simulator authorizes its requests against the RBAC objects of
 * kubernetes/production, so a grant missing from rbac.yaml fails the scenario that needs it.
 */
export const DEPLOYER = {
  user: "arn:aws:sts::123456789012:assumed-role/release-gate-production/release-gate-16042",
  groups: ["release-gate-deployers"],
};

/** Fast windows for tests: the timing of real releases is a bench/ matter. */
export const FAST = {
  phases: [
    { weight: 10, observe: "400ms" },
    { weight: 50, observe: "200ms" },
    { weight: 100, observe: "200ms" },
  ],
  smoke: { timeout: "2s", retries: 2, probeInterval: "150ms" },
  deadlines: { canaryAvailable: "6s", weightVerified: "3s", smoke: "5s", stableRollout: "6s", scaleDown: "3s" },
  health: { maxRestarts: 0, notReadyGrace: "300ms" },
  // 100 samples at the default false-alarm rate (1e-6): a test fails on sampling noise about once in a million
  // checks, and a misrouted split (0 or 100 %) is still caught.
  observedSplit: { enabled: true, versionHeader: "X-App-Version", samples: 100 },
  // Renewals (every ttl/6) must succeed within 2.5 intervals, 5 s here, or the run stops (lock loss): that outlasts
  // any hiccup of a loaded machine. Scenarios about expiry, takeover or lock loss set their own.
  lock: { ttl: "12s" },
  budget: "10m",
};

export interface Recorded {
  at: number;
  event: StoreEvent;
}

export interface Harness {
  sim: Sim;
  /** The admin's kubectl (applies manifests, changes things behind the pipeline's back). */
  kubectl: KubectlRunner;
  /** The deployer's kubeconfig: what the pipeline (in process and through the bin) runs as. */
  kubeconfigPath: string;
  configPath: string;
  env: PipelineEnv;
  events: Recorded[];
  /** Messages the pipeline printed (progress), for assertions and debugging. */
  log: string[];
  /** Run something when the pipeline starts a step ("canary 50%", "promote", "rollback"). */
  onStep(label: string, fn: () => void): void;
  dir: string;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  scenario?: ScenarioInput;
  router?: "ingress-nginx" | "gateway-api" | "replicas";
  /** Changes to the test release.yaml (plain YAML object). */
  config?: (doc: Record<string, any>) => void;
  services?: Array<"qualisys-api" | "qualisys-web">;
  /** Receives every API request the simulator serves ("GET /apis/apps/v1/… 200 1.2ms"), e.g. to count them. */
  apiLog?: (line: string) => void;
  /** Opt-in components applied with the base ("kubernetes/production/components/analysis-secret"). */
  components?: string[];
}

const recordingProgress = (log: string[], hooks: Map<string, () => void>): Progress => ({
  step: (label, w) => {
    log.push(`step ${label}${w !== undefined ? ` @${w}` : ""}`);
    hooks.get(label)?.();
  },
  waiting: (what) => log.push(`waiting ${what}`),
  info: (m) => log.push(`info ${m}`),
  warn: (m) => log.push(`warn ${m}`),
});

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "release-gate-pipeline-"));
  const sim = await startSim({ scenario: o.scenario ?? {}, ...(o.apiLog ? { log: o.apiLog } : {}) });
  const events: Recorded[] = [];
  const unwatch = [DEPLOYMENTS, PODS, INGRESSES, HTTPROUTES].map((t) =>
    sim.store.watch(t, NS, undefined, (event) => events.push({ at: Date.now(), event: structuredClone(event) })),
  );
  const kubectl = await kubectlFor(sim.kubeconfigPath);
  const production = o.components?.length
    ? await overlayWithComponents(await mkdtemp(join(dir, "overlay-")), "kubernetes/production", o.components)
    : "kubernetes/production";
  const applied = await kubectl.run(["apply", "-k", production]);
  if (applied.exitCode !== 0) throw new Error(`kubectl apply -k ${production} failed: ${applied.stderr}`);
  // What installing ingress-nginx leaves in a cluster: the IngressClass the stable Ingress names.
  const ingressClass = await kubectl.run(["apply", "-f", "-"], {
    input: stringify({
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "nginx" },
      spec: { controller: "k8s.io/ingress-nginx" },
    }),
  });
  if (ingressClass.exitCode !== 0) throw new Error(`applying the IngressClass failed: ${ingressClass.stderr}`);
  const router = o.router ?? "ingress-nginx";
  if (router === "gateway-api") {
    const r = await kubectl.run(["apply", "-k", "kubernetes/production/gateway-api"]);
    if (r.exitCode !== 0) throw new Error(`kubectl apply -k kubernetes/production/gateway-api failed: ${r.stderr}`);
  }
  if (router === "replicas") {
    // The replicas router needs one Service over both tracks (no router splits traffic).
    const services = ["qualisys-api", "qualisys-web"].map((svc) =>
      stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc, namespace: NS },
        spec: { selector: { app: svc }, ports: [{ name: "http", port: 3000, targetPort: "http" }] },
      }),
    );
    const r = await kubectl.run(["apply", "-f", "-"], { input: services.join("---\n") });
    if (r.exitCode !== 0) throw new Error(r.stderr);
    // Users reach the all-pods Services (the Ingress's rules: 0 app.qualisys.io → web, 1 api.qualisys.io → api).
    const patch = [
      { op: "replace", path: "/spec/rules/0/http/paths/0/backend/service/name", value: "qualisys-web" },
      { op: "replace", path: "/spec/rules/1/http/paths/0/backend/service/name", value: "qualisys-api" },
    ];
    const p = await kubectl.run(["patch", "ingress", "production-ingress", "-n", NS, "--type=json", "-p", JSON.stringify(patch)]);
    if (p.exitCode !== 0) throw new Error(p.stderr);
  }
  const doc = parse(await readFile("kubernetes/production/release.yaml", "utf8"));
  Object.assign(doc, structuredClone(FAST));
  doc.router.kind = router;
  if (router === "replicas") for (const s of doc.services) s.stable.service = s.name;
  if (o.services) doc.services = doc.services.filter((s: { name: string }) => o.services!.includes(s.name as never));
  o.config?.(doc);
  const configPath = join(dir, "release.yaml");
  await writeFile(configPath, stringify(doc));
  const { config } = await loadReleaseConfig(configPath);
  const log: string[] = [];
  const hooks = new Map<string, () => void>();
  const kubeconfigPath = join(dir, "deployer.kubeconfig");
  await sim.writeKubeconfigAs(DEPLOYER, kubeconfigPath);
  const env: PipelineEnv = {
    kube: kubeFromConfig(loadKubeConfig({ path: kubeconfigPath }), {
      retry: { minTimeoutMs: 20, maxTimeoutMs: 200, maxRetryAfterMs: 300 },
    }),
    config,
    progress: recordingProgress(log, hooks),
    identity: `test-run-${Math.random().toString(36).slice(2, 8)}`,
    triggeredBy: "tester",
    resolve: parseResolve(`*=${sim.edgeUrl}`),
  };
  await waitStableAvailable(sim);
  return {
    sim,
    kubectl,
    kubeconfigPath,
    configPath,
    env,
    events,
    log,
    onStep: (label, fn) => hooks.set(label, fn),
    dir,
    async stop() {
      unwatch.forEach((u) => u());
      await recordRbacDecisions(sim);
      await kubectl.dispose();
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * RELEASE_GATE_RBAC_RECORD=FILE: every authorization decision made for the deployer is appended to FILE (JSON lines),
 * so `npm run rbac:derive` can rebuild the Role from what the scenario suite really asks for (docs in rbac.yaml).
 */
async function recordRbacDecisions(sim: Sim): Promise<void> {
  const file = process.env.RELEASE_GATE_RBAC_RECORD;
  if (!file) return;
  const lines = sim.authz.decisions.filter((d) => d.user === DEPLOYER.user).map((d) => JSON.stringify(d) + "\n");
  if (lines.length) await appendFile(file, lines.join(""));
}

export async function waitStableAvailable(sim: Sim, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = ["qualisys-api-stable", "qualisys-web-stable"].every((n) => {
      const d = sim.store.get(DEPLOYMENTS, NS, n) as any;
      return d && (d.status?.availableReplicas ?? 0) === d.spec.replicas && (d.status?.updatedReplicas ?? 0) === d.spec.replicas;
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error("stable Deployments never became Available in the simulator");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function deployment(sim: Sim, name: string): any {
  return sim.store.get(DEPLOYMENTS, NS, name) as any;
}

export function imageOf(d: KObject | any, container: string): string {
  return d.spec.template.spec.containers.find((c: { name: string }) => c.name === container).image;
}
