/**
 * Asking the cluster's edge (the router's NodePort, reached as the host service --edge) which version answers a
 * public host: the demo app's X-App-Version, as the pipeline's own observed-split sampling reads it. Used to wait
 * until stable serves before the story starts, and to check where traffic is after the rollback.
 */
import { Agent, request } from "undici";
import { waitUntil, type Look } from "./wait.ts";

export interface EdgeSample {
  host: string;
  total: number;
  /** Answers by X-App-Version; "HTTP <status>" for answers without it, "error" for no answer. */
  byVersion: Record<string, number>;
}

const agent = () => new Agent({ connections: 8, connect: { timeout: 5_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });

async function ask(dispatcher: Agent, edgeUrl: string, host: string, path: string): Promise<string> {
  try {
    const r = await request(`${edgeUrl}${path}`, { headers: { host }, dispatcher });
    await r.body.dump();
    const v = r.headers["x-app-version"];
    return r.statusCode === 200 && typeof v === "string"
      ? v
      : typeof v === "string"
        ? `${v} (HTTP ${r.statusCode})`
        : `HTTP ${r.statusCode}`;
  } catch {
    return "error";
  }
}

/** `n` requests to `path` on `host` through the edge, counted by the version that answered. */
export async function sampleEdge(edgeUrl: string, host: string, n: number, path = "/api/health"): Promise<EdgeSample> {
  const dispatcher = agent();
  try {
    const byVersion: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const v = await ask(dispatcher, edgeUrl, host, path);
      byVersion[v] = (byVersion[v] ?? 0) + 1;
    }
    return { host, total: n, byVersion };
  } finally {
    await dispatcher.close();
  }
}

/** Waits until every host answers 200 with `version` through the edge (the router has programmed the routes). */
export async function waitForEdge(edgeUrl: string, hosts: string[], version: string, timeoutMs: number): Promise<void> {
  const dispatcher = agent();
  try {
    await waitUntil(
      `the edge ${edgeUrl} serving ${version} for ${hosts.join(", ")}`,
      async (): Promise<Look<true>> => {
        const answers = await Promise.all(hosts.map(async (h) => [h, await ask(dispatcher, edgeUrl, h, "/api/health")] as const));
        const wrong = answers.filter(([, v]) => v !== version);
        return wrong.length ? { done: false, why: wrong.map(([h, v]) => `${h}: ${v}`).join(", ") } : { done: true, value: true };
      },
      { timeoutMs, intervalMs: 2_000 },
    );
  } finally {
    await dispatcher.close();
  }
}
