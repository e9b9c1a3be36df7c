/** A simulator with one empty namespace and a client with quick retries: for tests of one kube/ or pipeline/ module. */
import { kubeFromConfig, type Kube } from "#src/kube/client.ts";
import { loadKubeConfig } from "#src/kube/kubeconfig.ts";
import { startSim, type Sim } from "../sim/index.ts";

export async function startBareSim(namespace: string): Promise<{ sim: Sim; kube: Kube }> {
  const sim = await startSim({});
  const kube = kubeFromConfig(loadKubeConfig({ path: sim.kubeconfigPath, env: {} }), {
    retry: { minTimeoutMs: 10, maxTimeoutMs: 50, maxRetryAfterMs: 100 },
  });
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  return { sim, kube };
}
