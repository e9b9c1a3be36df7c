/**
 * I1 when an operator lowers the weight (`canary --weight 50`, then `canary --weight 10`): traffic moves away
 * from the canary pods (weight verified) before the canary is scaled down to its smaller size.
 */
import { afterEach, describe, expect, it } from "vitest";
import { canary, rollback } from "#src/pipeline/operator.ts";
import { routingFor } from "#src/traffic/routing.ts";
import { deployment, OLD, startHarness, type Harness } from "../support/pipeline-harness.ts";
import { checkI1 } from "../support/invariants.ts";
import { expectResting } from "../support/scenario.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each(["ingress-nginx", "gateway-api"] as const)("operator lowers the canary weight through %s", (router) => {
  it("canary --weight 50 then --weight 10: weight 10 verified before the canary goes 2 → 1 pods (I1)", async () => {
    h = await startHarness({ router });
    await canary(h.env, { tag: "2.1.0", weight: 50 });
    expect(deployment(h.sim, "qualisys-api-canary").spec.replicas).toBe(2);
    await canary(h.env, { tag: "2.1.0", weight: 10 });
    expect(checkI1(h.events, router)).toEqual([]);
    for (const svc of ["qualisys-api", "qualisys-web"]) expect(deployment(h.sim, `${svc}-canary`).spec.replicas, svc).toBe(1);
    const weights = await Promise.all(routingFor(h.env.kube, h.env.config).routers.map((r) => r.getWeight()));
    expect(
      weights.every((w) => w === 10),
      `weights ${weights}`,
    ).toBe(true);
    // Back up again: capacity first, then traffic; and rollback still ends at rest.
    await canary(h.env, { tag: "2.1.0", weight: 50 });
    await rollback(h.env, { reason: "done" });
    await expectResting(h, OLD, "rolled-back");
    expect(checkI1(h.events, router)).toEqual([]);
  });
});
