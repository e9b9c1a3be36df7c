/** End-state (I4) assertions shared by the scenario tests. */
import { expect } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { readLock } from "#src/kube/lease-lock.ts";
import { buildRouters } from "#src/pipeline/production.ts";
import { readInFlight } from "#src/pipeline/state.ts";
import { deployment, imageOf, NS, REGISTRY, type Harness } from "./pipeline-harness.ts";
import { checkI1, checkI3 } from "./invariants.ts";

export const image = (service: string, tag: string) => `${REGISTRY}/${service}:${tag}`;

/** I4: all traffic on a healthy stable running `tag`; canary weight 0 and 0 replicas; lock free; record written. */
export async function expectResting(
  h: Harness,
  tag: string,
  outcome: ReleaseRecord["outcome"],
  services = h.env.config.services.map((s) => s.name),
  opts: { lockFree?: boolean } = {},
): Promise<ReleaseRecord> {
  for (const svc of services) {
    const stable = deployment(h.sim, `${svc}-stable`);
    expect(imageOf(stable, svc), `${svc} stable image`).toBe(image(svc, tag));
    expect(stable.status.availableReplicas, `${svc} stable available`).toBe(stable.spec.replicas);
    expect(stable.status.updatedReplicas, `${svc} stable updated`).toBe(stable.spec.replicas);
    expect(deployment(h.sim, `${svc}-canary`).spec.replicas, `${svc} canary replicas`).toBe(0);
  }
  const weights = await Promise.all(buildRouters(h.env.kube, h.env.config).map((r) => r.getWeight()));
  expect(
    weights.every((w) => w === 0),
    `weights ${weights}`,
  ).toBe(true);
  if (opts.lockFree ?? true) {
    const lock = await readLock(h.env.kube, NS);
    expect(lock, `lock ${JSON.stringify(lock)}`).toBeUndefined();
  }
  expect(await readInFlight(h.env.kube, NS)).toBeUndefined();
  const history = await readHistory(h.env.kube, NS);
  expect(history[0]?.outcome).toBe(outcome);
  return history[0];
}

export function expectInvariants(h: Harness): void {
  const router = h.env.config.router.kind;
  expect(checkI1(h.events, router)).toEqual([]);
  expect(checkI3(h.events, router)).toEqual([]);
}
