/**
 * The Kubernetes simulator in one call: the store, the API server on a random 127.0.0.1 port, a kubeconfig in a
 * temporary directory, the controllers and kubelet on a scaled clock, and the traffic edge. `stop()` closes all.
 *
 *   const sim = await startSim({ scenario: { images: [{ tag: "bad-*", pod: { kind: "crashLoop" } }] } });
 *   // kubectl --kubeconfig sim.kubeconfigPath …, or fetch(sim.edgeUrl + "/api/health")
 *   sim.setScenario({ ...sim.scenario, images: [...] }); // change behaviour mid-test
 *   await sim.stop();
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyDefaults } from "./api/defaults.ts";
import { startApiServer } from "./apiserver.ts";
import { Clock } from "./clock.ts";
import { startControllers, type Controllers } from "./controllers/index.ts";
import { NODE_IP, NODE_NAME, type Kubelet } from "./controllers/kubelet.ts";
import { startEdge } from "./edge.ts";
import { Faults } from "./faults.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { Authorizer, type Identity } from "./api/authorization.ts";
import { defaultResourceTypes } from "./resources.ts";
import { behaviourForImage, resolveScenario, type Scenario, type ScenarioInput } from "./scenario.ts";
import { Store, StoreError, type KObject } from "./store.ts";

export type { Scenario, ScenarioInput } from "./scenario.ts";

export interface SimOptions {
  /** API server port (default: a free one). */
  port?: number;
  /** Traffic edge port (default: a free one). */
  edgePort?: number;
  /** The edge's metrics port (default: a free one). */
  edgeMetricsPort?: number;
  /** Where to write the kubeconfig (default: a new temporary directory, removed by stop()). */
  kubeconfigPath?: string;
  /** Namespace of the kubeconfig's context (default: none, i.e. "default"). */
  namespace?: string;
  /** A scenario object, or the path of a YAML/JSON scenario file. */
  scenario?: Scenario | ScenarioInput | string;
  /** Diagnostics: API requests and controller errors. */
  log?: (line: string) => void;
}

export interface Sim {
  apiUrl: string;
  edgeUrl: string;
  /** The edge's ingress-nginx-compatible Prometheus metrics (`http://127.0.0.1:<port>/metrics`). */
  edgeMetricsUrl: string;
  kubeconfigPath: string;
  store: Store;
  clock: Clock;
  faults: Faults;
  /** The simulated node (e.g. `sim.kubelet.repush(image)`: a tag pushed again, pulled as another digest from then on). */
  kubelet: Kubelet;
  /** Authentication and RBAC: every decision made for a non-admin identity is in `authz.decisions`. */
  authz: Authorizer;
  /**
   * A kubeconfig at `path` that authenticates as `identity` (a bearer token the simulator maps to that user and
   * its groups), so what it may do is what the RBAC objects applied to the simulator grant it.
   */
  writeKubeconfigAs(identity: Identity, path: string): Promise<void>;
  /** The scenario in force (replace it with setScenario). */
  readonly scenario: Scenario;
  /**
   * Switch to another scenario now: running containers take the new pod behaviour from this moment, the app
   * answers change with the next request; when the scenario's fault rules differ, sim.faults is reset to them.
   * The time scale cannot change.
   */
  setScenario(s: Scenario | ScenarioInput | string): Scenario;
  /** Derive the next scenario from the current one (e.g. add an image rule). */
  updateScenario(fn: (current: Scenario) => ScenarioInput | Scenario): Scenario;
  stop(): Promise<void>;
}

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function startSim(opts: SimOptions = {}): Promise<Sim> {
  let scenario = resolveScenario(opts.scenario);
  const log = opts.log ?? (() => {});
  const clock = new Clock(scenario.timeScale.msPerSecond);
  const store = new Store(defaultResourceTypes(), { now: () => clock.now() });
  const faults = new Faults();
  for (const rule of scenario.faults) faults.add(rule);

  seed(store, scenario);
  const controllers: Controllers = startControllers(store, clock, (image) => behaviourForImage(scenario, image).pod, log);
  const cleanups: Array<() => Promise<void> | void> = [() => controllers.stop(), () => clock.stop()];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const authz = new Authorizer(store);
    const api = await startApiServer(store, { port: opts.port, faults, log, authorizer: authz });
    cleanups.push(() => api.close());
    const edge = await startEdge(store, clock, {
      port: opts.edgePort,
      metricsPort: opts.edgeMetricsPort,
      scenario: () => scenario,
      runningSince: (uid) => controllers.kubelet.runningSince(uid),
    });
    cleanups.push(() => edge.close());
    let kubeconfigPath = opts.kubeconfigPath;
    if (!kubeconfigPath) {
      const dir = await mkdtemp(join(tmpdir(), "release-gate-sim-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      kubeconfigPath = join(dir, "kubeconfig");
    }
    await writeKubeconfig(api.url, kubeconfigPath, opts.namespace ? { namespace: opts.namespace } : {});

    const setScenario = (s: Scenario | ScenarioInput | string): Scenario => {
      const next = resolveScenario(s);
      if (next.timeScale.msPerSecond !== scenario.timeScale.msPerSecond) {
        throw new Error(
          `the time scale is fixed at start (${scenario.timeScale.msPerSecond} ms per second); got ${next.timeScale.msPerSecond}`,
        );
      }
      // Fault rules are replaced only when the scenario's own rules change, so rules a test added through
      // sim.faults survive an unrelated scenario change (e.g. making a version fail).
      const faultsChanged = JSON.stringify(next.faults) !== JSON.stringify(scenario.faults);
      scenario = next;
      if (faultsChanged) {
        faults.clear();
        for (const rule of scenario.faults) faults.add(rule);
      }
      controllers.kubelet.reconfigure();
      return scenario;
    };
    return {
      apiUrl: api.url,
      edgeUrl: edge.url,
      edgeMetricsUrl: edge.metricsUrl,
      kubeconfigPath,
      store,
      clock,
      faults,
      kubelet: controllers.kubelet,
      authz,
      writeKubeconfigAs: (identity, path) =>
        writeKubeconfig(api.url, path, {
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
          token: authz.issueToken(identity),
          user: identity.user,
        }),
      get scenario() {
        return scenario;
      },
      setScenario,
      updateScenario: (fn) => setScenario(fn(structuredClone(scenario)) as ScenarioInput),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What a fresh cluster has (system namespaces, one node) plus the scenario's objects. */
function seed(store: Store, scenario: Scenario): void {
  const create = (o: KObject) => {
    const typeKey = typeKeyFor(store, o);
    applyDefaults(o, store);
    try {
      store.create(typeKey, o);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 409)) throw err;
    }
  };
  for (const name of SYSTEM_NAMESPACES) create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  create({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: NODE_NAME,
      labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": "" },
    },
    spec: {},
    status: {
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }],
      addresses: [
        { type: "InternalIP", address: NODE_IP },
        { type: "Hostname", address: NODE_NAME },
      ],
      nodeInfo: {
        kubeletVersion: "v1.35.0",
        containerRuntimeVersion: "containerd://2.1.0",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  });
  for (const o of scenario.objects) {
    const obj = structuredClone(o) as KObject;
    const ns = obj.metadata.namespace;
    if (ns && store.types.get(typeKeyFor(store, obj))?.namespaced) create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    create(obj);
  }
}

function typeKeyFor(store: Store, o: { apiVersion: string; kind: string }): string {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  for (const [key, t] of store.types) if (t.group === group && t.version === version && t.kind === o.kind) return key;
  throw new Error(`the simulator does not serve ${o.apiVersion} ${o.kind}`);
}
