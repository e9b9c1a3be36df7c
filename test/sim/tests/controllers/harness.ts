/** A store, a fast clock and the controllers, with no HTTP: the controllers' own tests drive them through the store. */
import { Clock } from "../../clock.ts";
import { startControllers, type Controllers } from "../../controllers/index.ts";
import { DEPLOYMENTS, type Deployment } from "../../controllers/types.ts";
import { defaultResourceTypes } from "../../resources.ts";
import { behaviourForImage, parseScenario, type Scenario, type ScenarioInput } from "../../scenario.ts";
import { Store, type KObject, type StoreEvent } from "../../store.ts";

export interface Harness {
  store: Store;
  clock: Clock;
  controllers: Controllers;
  scenario: Scenario;
  setScenario(s: ScenarioInput): void;
  /** Resolve once `predicate` holds, re-checked after every store change (fails the test after `ms` real ms). */
  until<T>(predicate: () => T | undefined | false, what: string, ms?: number): Promise<T>;
  stop(): void;
}

export function startHarness(input: ScenarioInput = {}, msPerSecond = 2): Harness {
  const clock = new Clock(msPerSecond);
  const store = new Store(defaultResourceTypes(), { now: () => clock.now() });
  const h: Harness = {
    store,
    clock,
    scenario: parseScenario(input),
    controllers: undefined as unknown as Controllers,
    setScenario(s) {
      h.scenario = parseScenario(s);
      h.controllers.kubelet.reconfigure();
    },
    until(predicate, what, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const unsubs: Array<() => void> = [];
        const done = (fn: () => void) => {
          for (const u of unsubs) u();
          clearTimeout(timer);
          fn();
        };
        const check = () => {
          const v = predicate();
          if (v) done(() => resolve(v as never));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}`))), ms);
        for (const t of store.types.keys()) unsubs.push(store.watch(t, undefined, undefined, () => setImmediate(check)));
        check();
      });
    },
    stop() {
      h.controllers.stop();
      clock.stop();
    },
  };
  h.controllers = startControllers(store, clock, (image) => behaviourForImage(h.scenario, image).pod);
  return h;
}

export function deployment(
  name: string,
  image: string,
  extra: Partial<Deployment["spec"]> = {},
  annotations?: Record<string, string>,
): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default", ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
      ...extra,
    },
  };
}

/** Every change to objects of a type, for sampling during a rollout. */
export function record(store: Store, typeKey: string): { events: StoreEvent[]; stop(): void } {
  const events: StoreEvent[] = [];
  const stop = store.watch(typeKey, undefined, undefined, (e) => events.push(e));
  return { events, stop };
}

export function setImage(store: Store, name: string, image: string): KObject | undefined {
  return store.mutate(DEPLOYMENTS, "default", name, (o) => {
    (o as Deployment).spec.template.spec!.containers![0]!.image = image;
  });
}
