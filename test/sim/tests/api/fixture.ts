/**
 * One simulated API server per test file: a bare Store (no controllers), the HTTP API in front of it, a
 * kubeconfig for it, and the real kubectl pointed at it. The server creates the system namespaces (`default`...).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Store } from "../../store.ts";
import { defaultResourceTypes } from "../../resources.ts";
import { startApiServer } from "../../apiserver.ts";
import { Faults } from "../../faults.ts";
import { writeKubeconfig } from "../../kubeconfig.ts";
import { kubectlFor, type KubectlRunner } from "../../../support/kubectl.ts";

export interface ApiFixture {
  store: Store;
  faults: Faults;
  url: string;
  kubeconfig: string;
  dir: string;
  kubectl: KubectlRunner;
  close(): Promise<void>;
}

export async function startApiFixture(opts: { kubectl?: boolean; namespace?: string; historySize?: number } = {}): Promise<ApiFixture> {
  const store = new Store(defaultResourceTypes(), opts.historySize ? { historySize: opts.historySize } : {});
  const faults = new Faults();
  const server = await startApiServer(store, { faults, bookmarkIntervalMs: 200 });
  const dir = await mkdtemp(join(tmpdir(), "sim-api-"));
  const kubeconfig = join(dir, "kubeconfig");
  await writeKubeconfig(server.url, kubeconfig, opts.namespace ? { namespace: opts.namespace } : {});
  const kubectl = opts.kubectl === false ? (undefined as unknown as KubectlRunner) : await kubectlFor(kubeconfig);
  if (kubectl) console.log(`kubectl: ${kubectl.binary.path} (${kubectl.binary.source}, ${kubectl.binary.version})`);
  return {
    store,
    faults,
    url: server.url,
    kubeconfig,
    dir,
    kubectl,
    async close() {
      await server.close();
      await kubectl?.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
