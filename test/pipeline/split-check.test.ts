/**
 * The observed split in the step's record: every service is sampled at once, and the record lists them in
 * release.yaml's order whichever sampling finishes first (the record, the timeline and status must not depend on
 * which public URL answered faster).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { StepRecord } from "#src/audit/record.ts";
import { loadReleaseConfig } from "#src/config/load.ts";
import type { Run } from "#src/pipeline/context.ts";
import { checkObservedSplit } from "#src/pipeline/split-check.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An app on 127.0.0.1 answering every other request as the canary; `hold`: answers wait until it resolves. */
async function app(hold?: Promise<void>): Promise<{ url: string }> {
  let n = 0;
  const server = createServer((req, res) => {
    const version = n++ % 2 ? "1.1.0" : "1.0.0";
    void (hold ?? Promise.resolve()).then(() => res.writeHead(200, { "X-App-Version": version }).end("ok"));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("checkObservedSplit", () => {
  it("records the services in release.yaml's order, though the first one's sampling finishes last", async () => {
    const { config } = await loadReleaseConfig("kubernetes/production/release.yaml");
    config.observedSplit = { ...config.observedSplit, enabled: true, samples: 40 };
    const [api, web] = config.services.map((s) => s.name);
    expect([api, web]).toEqual(["qualisys-api", "qualisys-web"]);
    // qualisys-api's app answers only once qualisys-web's split is recorded: its sampling surely finishes last.
    let webDone!: () => void;
    const webFinished = new Promise<void>((r) => (webDone = r));
    const apiApp = await app(webFinished);
    const webApp = await app();
    const byHost: Record<string, string> = { "api.qualisys.io": apiApp.url, "app.qualisys.io": webApp.url };
    const service = (name: string) => ({
      name,
      stable: { version: "1.0.0", replicas: 4 },
      canary: { image: `registry.example.com/${name}:1.1.0` },
    });
    const run = {
      env: {
        config,
        resolve: (url: string) => ({ url: byHost[new URL(url).hostname]!, headers: {} }),
        progress: { info: () => undefined, warn: () => undefined },
      },
      journal: { state: { services: [service("qualisys-api"), service("qualisys-web")] } },
      routing: { for: () => ({ expectedWeight: (w: number) => w }) },
      signal: new AbortController().signal,
    } as unknown as Run;
    const rec = { name: "canary 50%", smoke: [] } as unknown as StepRecord;
    const checking = checkObservedSplit(run, 50, "canary 50%", rec);
    const poll = setInterval(() => rec.observedSplit?.some((o) => o.service === "qualisys-web") && webDone(), 5);
    try {
      await checking;
    } finally {
      clearInterval(poll);
    }
    expect(rec.observedSplit?.map((o) => [o.service, o.samples])).toEqual([
      ["qualisys-api", 40],
      ["qualisys-web", 40],
    ]);
  });
});
