import { afterEach, expect, it } from "vitest";
import { DEPLOYMENTS, SERVICES } from "../../controllers/types.ts";
import { deployment, startHarness, type Harness } from "./harness.ts";

let h: Harness;
afterEach(() => h?.stop());

it("lists Ready pods as addresses and the others as notReadyAddresses, and goes with its Service", async () => {
  h = startHarness({ images: [{ tag: "unready", pod: { kind: "neverReady" } }] });
  h.store.create(
    DEPLOYMENTS,
    deployment("ok", "web:1", {
      replicas: 2,
      selector: { matchLabels: { app: "web", v: "1" } },
      template: { metadata: { labels: { app: "web", v: "1" } }, spec: { containers: [{ name: "app", image: "web:1" }] } },
    }),
  );
  h.store.create(
    DEPLOYMENTS,
    deployment("bad", "web:unready", {
      replicas: 1,
      selector: { matchLabels: { app: "web", v: "2" } },
      template: { metadata: { labels: { app: "web", v: "2" } }, spec: { containers: [{ name: "app", image: "web:unready" }] } },
    }),
  );
  h.store.create(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 3000 }] },
  });
  type Subset = {
    addresses?: Array<{ ip: string; targetRef: { name: string } }>;
    notReadyAddresses?: Array<{ targetRef: { name: string } }>;
    ports: unknown[];
  };
  const ep = await h.until(() => {
    const e = h.store.get("/v1/endpoints", "default", "web") as { subsets?: Subset[] } | undefined;
    const s = e?.subsets?.[0];
    return s && s.addresses?.length === 2 && s.notReadyAddresses?.length === 1 ? s : undefined;
  }, "endpoints");
  for (const a of ep.addresses!) expect(a.targetRef.name).toMatch(/^ok-/);
  expect(ep.notReadyAddresses![0]!.targetRef.name).toMatch(/^bad-/);
  expect(ep.ports).toEqual([{ name: "http", port: 3000, protocol: "TCP" }]);
  h.store.delete(SERVICES, "default", "web");
  await h.until(() => !h.store.get("/v1/endpoints", "default", "web"), "endpoints deleted");
});
