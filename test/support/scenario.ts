/** End-state (I4) assertions shared by the scenario tests. */
import { expect } from "vitest";
import { readHistory } from "#src/audit/history.ts";
import type { ReleaseRecord } from "#src/audit/record.ts";
import { readLock } from "#src/kube/lease-lock.ts";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { routingFor } from "#src/traffic/routing.ts";
import { imageIdOf } from "../sim/controllers/pod-status.ts";
import { deployment, imageOf, NS, REGISTRY, type Harness } from "./pipeline-harness.ts";
import { checkI1, checkI3 } from "./invariants.ts";

export const image = (service: string, tag: string) => `${REGISTRY}/${service}:${tag}`;

/** The digest the simulated kubelet reports for a service's image of `tag` (as first pushed). */
export const digestOf = (service: string, tag: string): string => imageIdOf(image(service, tag)).split("@")[1]!;

/** Stable after a release of `tag`: pinned to the digest its canary ran. */
export const pinned = (service: string, tag: string): string => `${REGISTRY}/${service}@${digestOf(service, tag)}`;

/** What stable runs when it runs `tag`: the tag itself (never released by release-gate, e.g. the manifests') or pinned to it. */
export const runs = (service: string, tag: string): string[] => [image(service, tag), pinned(service, tag)];

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
    expect(runs(svc, tag), `${svc} stable image`).toContain(imageOf(stable, svc));
    expect(stable.status.availableReplicas, `${svc} stable available`).toBe(stable.spec.replicas);
    expect(stable.status.updatedReplicas, `${svc} stable updated`).toBe(stable.spec.replicas);
    expect(deployment(h.sim, `${svc}-canary`).spec.replicas, `${svc} canary replicas`).toBe(0);
  }
  const weights = await Promise.all(routingFor(h.env.kube, h.env.config).routers.map((r) => r.getWeight()));
  expect(
    weights.every((w) => w === 0),
    `weights ${weights}`,
  ).toBe(true);
  if (opts.lockFree ?? true) {
    const lock = await readLock(h.env.kube, NS);
    expect(lock, `lock ${JSON.stringify(lock)}`).toBeUndefined();
  }
  expect((await inspectInFlight(h.env.kube, NS)).kind, "in-flight state").toBe("none");
  const history = await readHistory(h.env.kube, NS);
  expect(history[0]?.outcome).toBe(outcome);
  return history[0];
}

/**
 * I1 and I3 over the whole event stream, for the services of the release. `outsider`: resourceVersions of changes a
 * scenario made itself from outside (a weight set by hand): what they break is theirs, not the pipeline's.
 */
export function expectInvariants(h: Harness, opts: { outsider?: string[] } = {}): void {
  const router = h.env.config.router.kind;
  const services = h.env.config.services.map((s) => s.name);
  const theirs = (v: string) => (opts.outsider ?? []).some((rv) => v.endsWith(`at rv ${rv}`));
  expect(checkI1(h.events, router, 4, services).filter((v) => !theirs(v))).toEqual([]);
  expect(checkI3(h.events, router, services).filter((v) => !theirs(v))).toEqual([]);
}

/** A write the scenario makes from outside with the admin's kubectl; returns the resourceVersion of `object` after it. */
export async function fromOutside(h: Harness, args: string[], object: [type: string, name: string], input?: string): Promise<string> {
  const r = await h.kubectl.run(args, input === undefined ? {} : { input });
  expect(r.exitCode, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return (
    (h.sim.store.get(object[0], NS, object[1]) as { metadata: { resourceVersion: string } } | undefined)?.metadata.resourceVersion ?? ""
  );
}
