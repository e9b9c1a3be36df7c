/** The simulated control plane and node: everything that reacts to the store, started and stopped together. */
import type { Clock } from "../clock.ts";
import type { PodBehaviour } from "../scenario.ts";
import type { Store } from "../store.ts";
import { DeploymentController } from "./deployment.ts";
import { EndpointsController } from "./endpoints.ts";
import { GarbageCollector } from "./garbage-collector.ts";
import { Kubelet } from "./kubelet.ts";
import { ReplicaSetController } from "./replicaset.ts";

export interface Controllers {
  kubelet: Kubelet;
  stop(): void;
}

export function startControllers(
  store: Store,
  clock: Clock,
  behaviourFor: (image: string) => PodBehaviour,
  log: (msg: string) => void = () => {},
): Controllers {
  const onError = (name: string) => (key: string, err: unknown) => log(`${name} ${key}: ${(err as Error).message ?? err}`);
  const deployments = new DeploymentController(store, clock, onError("deployment"));
  const replicaSets = new ReplicaSetController(store, clock, onError("replicaset"));
  const gc = new GarbageCollector(store, onError("garbage-collector"));
  const endpoints = new EndpointsController(store, onError("endpoints"));
  const kubelet = new Kubelet(store, clock, behaviourFor);
  for (const c of [gc, deployments, replicaSets, endpoints, kubelet]) c.start();
  return {
    kubelet,
    stop() {
      for (const c of [kubelet, endpoints, replicaSets, deployments, gc]) c.stop();
    },
  };
}
