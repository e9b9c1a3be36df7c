/**
 * The Prometheus API client's error handling, against a scripted HTTP server on 127.0.0.1 (the real server's
 * answers are covered in prometheus.test.ts): what is retried, what is refused, what a result means.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PrometheusClient, PrometheusError, valueOf } from "#src/analysis/prometheus-client.ts";
import { freePort } from "../support/prometheus.ts";

type Reply = { status: number; body: unknown } | "hang";
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** Answers the i-th request with replies[i] (the last one repeats); records each request. */
async function scripted(replies: Reply[]): Promise<{ url: string; requests: Array<{ path: string; auth?: string; form: string }> }> {
  const requests: Array<{ path: string; auth?: string; form: string }> = [];
  server = createServer(async (req: IncomingMessage, res) => {
    let form = "";
    for await (const chunk of req) form += chunk;
    requests.push({ path: req.url!, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), form });
    const r = replies[Math.min(requests.length - 1, replies.length - 1)]!;
    if (r === "hang") return;
    res.writeHead(r.status, { "content-type": "application/json" }).end(typeof r.body === "string" ? r.body : JSON.stringify(r.body));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/prom`, requests };
}

const vector = (...values: string[]) => ({
  status: "success",
  data: { resultType: "vector", result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })) },
});
const client = (url: string, extra: Partial<ConstructorParameters<typeof PrometheusClient>[0]> = {}) =>
  new PrometheusClient({ url, timeoutMs: 2000, retries: 2, backoffMs: 5, ...extra });

describe("Prometheus client", () => {
  it("POSTs the query to <url>/api/v1/query with the credential header, and reads one number", async () => {
    const s = await scripted([{ status: 200, body: vector("0.25") }]);
    const c = client(s.url, { authorization: "Bearer s3cret-token" });
    expect(await c.query('sum(rate(x{a="b"}[1m]))')).toEqual({ kind: "value", value: 0.25 });
    expect(s.requests).toEqual([
      {
        path: "/prom/api/v1/query",
        auth: "Bearer s3cret-token",
        form: new URLSearchParams({ query: 'sum(rate(x{a="b"}[1m]))' }).toString(),
      },
    ]);
    await c.close();
  });

  it("retries 5xx answers with backoff, then succeeds", async () => {
    const s = await scripted([
      { status: 503, body: "overloaded" },
      { status: 502, body: "bad gateway" },
      { status: 200, body: vector("1") },
    ]);
    expect(await client(s.url).query("up")).toEqual({ kind: "value", value: 1 });
    expect(s.requests).toHaveLength(3);
  });

  it("gives a clear 'unavailable' after its retries, never a value", async () => {
    const s = await scripted([{ status: 503, body: { status: "error", errorType: "unavailable", error: "TSDB not ready" } }]);
    const err = await client(s.url, { authorization: "Bearer s3cret-token" })
      .query("up")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err).toMatchObject({ kind: "unavailable" });
    expect((err as Error).message).toBe(`${s.url}/api/v1/query: HTTP 503 (unavailable: TSDB not ready) after 3 attempt(s)`);
    expect((err as Error).message).not.toContain("s3cret");
    expect(s.requests).toHaveLength(3);
  });

  it("retries a refused connection, then says so", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = (await client(url)
      .query("up")
      .catch((e: unknown) => e)) as PrometheusError;
    expect(err.kind).toBe("unavailable");
    expect(err.message).toBe(`${url}/api/v1/query: connection failed (ECONNREFUSED) after 3 attempt(s)`);
  });

  it("times out a request that gets no answer, and retries it", async () => {
    const s = await scripted(["hang", { status: 200, body: vector("2") }]);
    expect(await client(s.url, { timeoutMs: 200 }).query("up")).toEqual({ kind: "value", value: 2 });
    expect(s.requests).toHaveLength(2);
  });

  it("never retries a query Prometheus refused (syntax, execution, auth)", async () => {
    const s = await scripted([{ status: 400, body: { status: "error", errorType: "bad_data", error: 'parse error: unexpected "}"' } }]);
    const err = (await client(s.url)
      .query("x{")
      .catch((e: unknown) => e)) as PrometheusError;
    expect(err).toMatchObject({ kind: "refused", message: `HTTP 400 from ${s.url}/api/v1/query: bad_data: parse error: unexpected "}"` });
    expect(s.requests).toHaveLength(1);
    const auth = await scripted([{ status: 401, body: "Unauthorized" }]);
    expect(
      (
        (await client(auth.url)
          .query("up")
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toMatch(/HTTP 401 .*check analysis.prometheus.auth/);
  });

  it("reads results: no series and NaN are no data; several series or a range are refused", () => {
    expect(valueOf(vector().data)).toEqual({ kind: "no-data", why: expect.stringContaining("no series") });
    expect(valueOf(vector("NaN").data)).toEqual({ kind: "no-data", why: expect.stringContaining("NaN") });
    expect(valueOf(vector("+Inf").data)).toEqual({ kind: "value", value: Infinity });
    expect(valueOf({ resultType: "scalar", result: [1, "0.5"] })).toEqual({ kind: "value", value: 0.5 });
    expect(() => valueOf(vector("1", "2").data)).toThrow(/returned 2 series .*aggregate it, e.g. sum/);
    expect(() => valueOf({ resultType: "matrix", result: [] })).toThrow(/a matrix result; a check needs a scalar or an instant vector/);
  });
});
