/**
 * kubernetes/production/rbac.yaml is exactly what the pipeline needs. The simulator enforces the RBAC objects
 * `kubectl apply -k kubernetes/production` applied to it, and the pipeline runs as the deployer group an EKS
 * access entry names: these runs (every router, a first and a later release so the history is created and then
 * updated, a run that fails and rolls back) must make no request the Role refuses, and use every grant it makes.
 * The rest of the scenario suite runs as the same identity, so a missing grant fails it too.
 *
 * When the pipeline changes which calls it makes, `npm run rbac:derive` records the whole suite's requests and
 * prints the rules they need (see rbac-rules.ts).
 */
import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { inspectInFlight } from "#src/pipeline/journal.ts";
import { bin, spawnBin } from "../support/bin.ts";
import { DEPLOYER, NS, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { describeGrant, describeRequest, grantsOf, minimalRules, unusedGrants, type RecordedRequest } from "./rbac-rules.ts";

const requests: RecordedRequest[] = [];
const harnesses: Harness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.stop();
});

async function run(router: "ingress-nginx" | "gateway-api" | "replicas", tags: string[], scenario = {}): Promise<number[]> {
  const h = await startHarness({ router, scenario });
  harnesses.push(h);
  const codes: number[] = [];
  for (const [i, tag] of tags.entries()) {
    if (i > 0 || router !== "ingress-nginx") {
      codes.push((await bin(h, ["deploy", "--tag", tag])).code ?? -1);
      continue;
    }
    // The first release with `status --watch` following it (its list and watch of the state and the lock).
    const release = spawnBin(h, ["deploy", "--tag", tag]);
    while ((await inspectInFlight(h.env.kube, NS)).kind !== "ok") await new Promise((r) => setTimeout(r, 20));
    const watched = await bin(h, ["status", "--watch"]);
    codes.push((await release).exitCode ?? -1, watched.code ?? -1);
  }
  codes.push((await bin(h, ["status"])).code ?? -1);
  codes.push((await bin(h, ["history"])).code ?? -1);
  requests.push(...h.sim.authz.decisions.filter((d) => d.user === DEPLOYER.user));
  return codes;
}

describe("rbac.yaml against what the pipeline asks for", () => {
  it("every router releases as the deployer group, a bad release rolls back, and nothing is refused", { timeout: 240_000 }, async () => {
    // ingress-nginx: a release, then a crash-looping one that rolls back (history created, then updated).
    expect(await run("ingress-nginx", ["1.1.0", "bad-1.2.0"], { images: [{ tag: "bad-*", pod: { kind: "crashLoop" } }] })).toEqual([
      0, 0, 1, 0, 0,
    ]);
    expect(await run("gateway-api", ["1.1.0"])).toEqual([0, 0, 0]);
    expect(await run("replicas", ["1.1.0"])).toEqual([0, 0, 0]);
    expect(requests.filter((r) => !r.allowed).map(describeRequest)).toEqual([]);
  });

  it("grants nothing the pipeline did not use", async () => {
    expect(requests.length).toBeGreaterThan(100);
    const unused = unusedGrants(grantsOf(await readFile("kubernetes/production/rbac.yaml", "utf8")), requests);
    expect(unused.map(describeGrant)).toEqual([]);
  });

  it("names objects wherever Kubernetes can: only creates and whole-kind lists and watches name none", async () => {
    const unnamed = minimalRules(requests)
      .filter((r) => !r.resourceNames)
      .map((r) => `${r.apiGroups[0] || "core"}/${r.resources[0]}: ${r.verbs.join(",")}`);
    expect(unnamed.sort()).toEqual(
      [
        "apps/deployments: list,watch",
        "apps/replicasets: list,watch",
        "coordination.k8s.io/leases: create",
        "core/configmaps: create",
        "core/events: create",
        "core/pods: list,watch",
        "core/services: list",
        "networking.k8s.io/ingresses: create,list",
      ].sort(),
    );
  });
});
