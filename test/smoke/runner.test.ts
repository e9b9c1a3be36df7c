/** The smoke runner against real HTTP and HTTPS servers on 127.0.0.1. */
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcp, type AddressInfo, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "#src/errors.ts";
import { assertTokenTransport, isLoopbackHost, parseSuite, qualisysSuite, runSmokeSuite, type SmokeReport } from "#src/smoke/index.ts";
import { makePki, type TestPki } from "../support/certs.ts";
import { CLOSED_PORT, hang, healthyRoutes, html, json, startApp, type Route, type TestApp } from "../support/smoke-app.ts";

const TOKEN = "tok-3f9a1c-never-print-me";
const apps: TestApp[] = [];
let pki: TestPki;

beforeAll(async () => {
  pki = await makePki();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function app(overrides: Record<string, Route> = {}, tls?: keyof Omit<TestPki, "ca">) {
  const a = await startApp({ ...healthyRoutes(TOKEN), ...overrides }, tls ? pki[tls] : undefined);
  apps.push(a);
  return a;
}

const check = (report: SmokeReport, name: string) => {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in report`);
  return c;
};

describe("a healthy service", () => {
  it("passes every default check over HTTP, sending the bearer token only where asked", async () => {
    const a = await app();
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN });
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.ok, c.status])).toEqual([
      ["health", true, 200],
      ["ready", true, 200],
      ["login", true, 200],
      ["user-me", true, 200],
    ]);
    expect(a.seen.find((s) => s.path === "/api/v1/user/me")?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(a.seen.find((s) => s.path === "/api/health")?.headers.authorization).toBeUndefined();
  });

  it("passes over HTTPS with a certificate from a trusted CA, including the certificate check", async () => {
    const a = await app({}, "valid");
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, ca: pki.ca });
    expect(report.checks.map((c) => [c.name, c.ok, c.reason])).toEqual([
      ["health", true, undefined],
      ["ready", true, undefined],
      ["login", true, undefined],
      ["user-me", true, undefined],
      ["tls", true, undefined],
    ]);
    expect(report.ok).toBe(true);
  });

  it("accepts /api/ready without a dependency list (older versions)", async () => {
    const a = await app({ "/api/ready": json(200, { status: "ready" }) });
    expect((await runSmokeSuite({ baseUrl: a.url, token: TOKEN })).ok).toBe(true);
  });

  it("keeps a base URL's path prefix", async () => {
    const a = await app();
    const report = await runSmokeSuite({ baseUrl: `${a.url}/qualisys/`, token: TOKEN, skip: ["user-me"] });
    expect(a.seen.map((s) => s.path).sort()).toEqual(["/qualisys/api/health", "/qualisys/api/ready", "/qualisys/login"]);
    expect(report.ok).toBe(false); // the stand-in only serves unprefixed paths
  });
});

describe("each check fails for its own reason", () => {
  it("5xx on health", async () => {
    const a = await app({ "/api/health": json(503, { status: "down" }) });
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN });
    expect(report.ok).toBe(false);
    expect(check(report, "health")).toMatchObject({ ok: false, status: 503, reason: "expected HTTP 200, got 503", attempts: 1 });
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["health"]);
    // A wrong answer is an answer: it is not retried.
    expect(a.seen.filter((s) => s.path === "/api/health")).toHaveLength(1);
  });

  it("wrong JSON on health", async () => {
    const a = await app({ "/api/health": json(200, { status: "degraded" }) });
    const c = check(await runSmokeSuite({ baseUrl: a.url, token: TOKEN }), "health");
    expect(c).toMatchObject({ ok: false, status: 200, reason: 'expected JSON status == "ok", got "degraded"' });
  });

  it("a body that is not JSON", async () => {
    const a = await app({ "/api/health": html(200, "<h1>ok</h1>") });
    const c = check(await runSmokeSuite({ baseUrl: a.url, token: TOKEN }), "health");
    expect(c.reason).toBe("expected a JSON body, got 11 bytes of text/html that does not parse as JSON");
  });

  it("a dependency of /api/ready that is not ok (database connectivity)", async () => {
    const a = await app({ "/api/ready": json(200, { status: "ready", checks: { database: "timeout", cache: "ok" } }) });
    const c = check(await runSmokeSuite({ baseUrl: a.url, token: TOKEN }), "ready");
    expect(c).toMatchObject({ ok: false, reason: 'expected every entry of JSON checks == "ok", got checks.database == "timeout"' });
  });

  it("missing text on the login page", async () => {
    const a = await app({ "/login": html(200, "<h1>Maintenance</h1>") });
    const c = check(await runSmokeSuite({ baseUrl: a.url, token: TOKEN }), "login");
    expect(c.reason).toBe('expected body to contain "Sign In", not found in 20 bytes of text/html');
  });

  it("401 on the authenticated check", async () => {
    const a = await app();
    const c = check(await runSmokeSuite({ baseUrl: a.url, token: "wrong-token" }), "user-me");
    expect(c).toMatchObject({ ok: false, status: 401, reason: "expected HTTP 200, got 401 (token missing, expired or not allowed?)" });
  });

  it("a null id from the authenticated check", async () => {
    const a = await app({ "/api/v1/user/me": json(200, { id: null }) });
    const c = check(await runSmokeSuite({ baseUrl: a.url, token: TOKEN }), "user-me");
    expect(c.reason).toBe("expected JSON id not null, got null");
  });

  it("a response that never comes: the per-check timeout, not retried", async () => {
    // Only the hanging check runs: with a timeout this short, a healthy check on a loaded machine could time out too.
    const a = await app({ "/login": hang });
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, timeoutMs: 300, skip: ["health", "ready", "user-me"] });
    expect(report.checks).toHaveLength(1);
    expect(check(report, "login")).toMatchObject({ ok: false, reason: "no response within 300 ms", attempts: 1 });
  });

  it("a check that times out leaves the others alone", async () => {
    // Seconds, not milliseconds, for the healthy checks to answer: a loaded machine cannot fail them.
    const a = await app({ "/login": hang });
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, timeoutMs: 3000 });
    expect(check(report, "login")).toMatchObject({ ok: false, reason: "no response within 3000 ms", attempts: 1 });
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["login"]);
  });

  it("connection refused: retried a bounded number of times, then failed", async () => {
    const report = await runSmokeSuite({ baseUrl: `http://127.0.0.1:${CLOSED_PORT}`, token: TOKEN, retries: 2, backoffMs: 5 });
    expect(report.ok).toBe(false);
    for (const c of report.checks) {
      expect(c).toMatchObject({
        ok: false,
        attempts: 3,
        reason: "connection failed (ECONNREFUSED) after 3 attempts: is the service up and the URL right?",
      });
    }
  });

  it("connection refused on https: the certificate check is retried too, then fails with its own reason", async () => {
    const report = await runSmokeSuite({ baseUrl: `https://127.0.0.1:${CLOSED_PORT}`, token: TOKEN, retries: 1, backoffMs: 5 });
    expect(check(report, "tls")).toMatchObject({
      ok: false,
      attempts: 2,
      reason: "TLS connection failed (ECONNREFUSED) after 2 attempts: is the service up and the URL right?",
    });
  });

  it("a dropped connection is retried and the check passes when the retry is answered", async () => {
    let first = true;
    const flaky: Route = (req: IncomingMessage, res: ServerResponse) => {
      if (first) {
        first = false;
        req.socket.destroy();
        return;
      }
      json(200, { status: "ok" })(req, res);
    };
    const a = await app({ "/api/health": flaky });
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, backoffMs: 5 });
    expect(check(report, "health")).toMatchObject({ ok: true, attempts: 2 });
    expect(report.ok).toBe(true);
  });

  it.each(["POST", "PUT", "PATCH", "DELETE"])("%s dropped after the service read it is not sent again", async (method) => {
    // The connection drops after the whole request arrived: the service may have acted on it, so a retry could
    // act twice (the service saw a POST three times before).
    const drop: Route = (req) => {
      req.resume();
      req.once("end", () => req.socket.destroy());
    };
    const suite = parseSuite({ name: "write", checks: [{ name: "order", path: "/orders", method, body: '{"sku":"smoke"}' }] }, "test");
    const a = await app({ "/orders": drop });
    const report = await runSmokeSuite({ baseUrl: a.url, suite, retries: 2, backoffMs: 5 });
    expect(a.seen.filter((s) => s.path === "/orders")).toHaveLength(1);
    expect(check(report, "order")).toMatchObject({ ok: false, attempts: 1 });
    expect(check(report, "order").reason).toMatch(
      new RegExp(`^connection failed \\((UND_ERR_SOCKET|ECONNRESET|EPIPE)\\): ${method} not retried, the service may have received it$`),
    );
  });

  it("a POST is retried when the connection was refused: nothing was sent", async () => {
    const suite = parseSuite({ name: "write", checks: [{ name: "order", path: "/orders", method: "POST", body: "{}" }] }, "test");
    const report = await runSmokeSuite({ baseUrl: `http://127.0.0.1:${CLOSED_PORT}`, suite, retries: 2, backoffMs: 5 });
    expect(check(report, "order")).toMatchObject({
      ok: false,
      attempts: 3,
      reason: "connection failed (ECONNREFUSED) after 3 attempts: is the service up and the URL right?",
    });
  });

  it("a connection that never completes is a connect timeout, retried, not a missing response", async () => {
    // A TCP listener that accepts and never speaks: the TLS handshake, part of connecting, hangs. (A dropped SYN
    // cannot be made deterministic on loopback; the connect timeout covers TCP and TLS alike.)
    const sockets = new Set<Socket>();
    let open = 0;
    let maxOpen = 0;
    const silent = createTcp((socket) => {
      sockets.add(socket);
      maxOpen = Math.max(maxOpen, ++open);
      socket.once("close", () => open--);
      socket.on("error", () => {});
      socket.resume(); // read (and drop) the handshake, so a client giving up is seen as a close
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    try {
      const { port } = silent.address() as AddressInfo;
      const url = `https://127.0.0.1:${port}`;
      const report = await runSmokeSuite({
        baseUrl: url,
        token: TOKEN,
        skip: ["tls"],
        timeoutMs: 10_000,
        connectTimeoutMs: 500,
        retries: 1,
        backoffMs: 5,
      });
      // Every check connects on its own: one hung connect does not hold the others in line behind it.
      expect(maxOpen).toBeGreaterThanOrEqual(4);
      expect(report.checks).toHaveLength(4);
      for (const c of report.checks) {
        expect(c).toMatchObject({
          ok: false,
          attempts: 2,
          reason: "connect timed out (no connection within 500 ms) after 2 attempts: is the service up and the URL right?",
        });
      }
      // By default the connect timeout is half the per-check timeout, so it fires first.
      const byDefault = await runSmokeSuite({
        baseUrl: url,
        token: TOKEN,
        skip: ["tls", "ready", "login", "user-me"],
        timeoutMs: 4000,
        retries: 0,
      });
      expect(byDefault.checks[0]).toMatchObject({
        ok: false,
        attempts: 1,
        reason: "connect timed out (no connection within 2000 ms): is the service up and the URL right?",
      });
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("a self-signed certificate: the certificate check and every request say so", async () => {
    const a = await app({}, "selfSigned");
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, ca: pki.ca });
    expect(check(report, "tls").reason).toBe(
      "certificate not trusted: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT); expected a chain to a trusted CA",
    );
    expect(check(report, "health").reason).toBe(
      "TLS handshake refused the certificate: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)",
    );
    expect(report.ok).toBe(false);
  });

  it("a certificate expiring within 14 days: only the certificate check fails", async () => {
    const a = await app({}, "expiringSoon");
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, ca: pki.ca });
    expect(check(report, "tls").reason).toMatch(/^certificate expires \d{4}-\d{2}-\d{2} \(in [23] days\), expected at least 14 days left$/);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["tls"]);
  });

  it("a certificate for another host", async () => {
    const a = await app({}, "wrongHost");
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, ca: pki.ca });
    expect(check(report, "tls").reason).toMatch(/^certificate is not valid for 127\.0\.0\.1: /);
    expect(check(report, "health").reason).toBe(
      "TLS handshake refused the certificate: certificate does not name this host (ERR_TLS_CERT_ALTNAME_INVALID)",
    );
  });

  it("the overall deadline ends checks still waiting", async () => {
    const a = await app({ "/api/health": hang, "/login": hang });
    // The deadline is what ends the hanging checks; the healthy ones get seconds to answer, so only the deadline's
    // lower bound matters here and a loaded machine cannot fail them.
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, timeoutMs: 60_000, deadlineMs: 3000 });
    expect(check(report, "health").reason).toBe("no verdict before the overall deadline of 3000 ms (after 1 attempt)");
    expect(check(report, "login")).toMatchObject({
      ok: false,
      reason: "no verdict before the overall deadline of 3000 ms (after 1 attempt)",
    });
    expect(check(report, "ready").ok).toBe(true);
    expect(report.durationMs).toBeGreaterThanOrEqual(2900);
  });

  it("a caller's abort signal stops waiting checks and says so", async () => {
    const { promise: arrived, resolve } = Promise.withResolvers<void>();
    // /api/health is held without an answer; the other checks answer at once.
    const a = await app({ "/api/health": () => resolve() });
    const cancel = new AbortController();
    const running = runSmokeSuite({ baseUrl: a.url, token: TOKEN, signal: cancel.signal });
    await arrived;
    cancel.abort();
    const report = await running;
    expect(check(report, "health")).toMatchObject({ ok: false, reason: "cancelled before a verdict (after 1 attempt)" });
    expect(report.ok).toBe(false);
  });
});

describe("concurrency", () => {
  it("runs the checks at once: every request is open before any is answered", async () => {
    // Each route holds its answer until all four requests have arrived. Run one after another, the first would
    // wait for the others forever and time out; run concurrently, all four meet and pass.
    const waiting: Array<() => void> = [];
    const barrier =
      (route: Route): Route =>
      (req, res) => {
        waiting.push(() => void route(req, res));
        if (waiting.length === 4) waiting.splice(0).forEach((go) => go());
      };
    const routes = healthyRoutes(TOKEN);
    const a = await app(Object.fromEntries(Object.entries(routes).map(([p, r]) => [p, barrier(r)])));
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, timeoutMs: 5000 });
    expect(report.ok).toBe(true);
    expect(a.maxInFlight()).toBe(4);
  });
});

describe("headers and secrets", () => {
  it("sends the canary-routing header with every request when asked", async () => {
    const a = await app();
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, canary: { name: "X-Canary", value: "always" } });
    expect(report.canary).toBe(true);
    expect(a.seen.map((s) => s.headers["x-canary"])).toEqual(["always", "always", "always", "always"]);
  });

  it("never passes the token on, even when the service echoes it into a field the report quotes", async () => {
    const echo: Route = (req, res) => json(200, { id: null, status: String(req.headers.authorization) })(req, res);
    const suite = parseSuite(
      { name: "echo", checks: [{ name: "echo", path: "/echo", auth: "bearer", expect: { json: [{ path: "status", equals: "fine" }] } }] },
      "test",
    );
    const a = await app({ "/echo": echo });
    const report = await runSmokeSuite({ baseUrl: a.url, token: TOKEN, suite });
    expect(report.checks[0].reason).toBe('expected JSON status == "fine", got "Bearer [redacted]"');
    expect(JSON.stringify(report)).not.toContain(TOKEN);
  });
});

describe("a long token echoed into a field the reason quotes, cut short for the table", () => {
  // 68 characters: "Bearer <token>" quoted is far over the 60 characters a quoted value is shown with.
  const LONG = "sk_live_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4Y5z6A7b8C9d0";
  /** Every piece of the token of 4 characters or more: none may appear. */
  const pieces = (token: string) => Array.from({ length: token.length - 3 }, (_, i) => token.slice(i, i + 4));

  it.each([
    ["the value is the header", (auth: string) => auth, 'got "Bearer [redacted]"'],
    // Cut 4 characters into the token: "sk_l..." would be left.
    ["the token comes late in a long value", (auth: string) => `request from 10.0.0.7 rejected, credentials: ${auth}`, 'got "request from'],
  ])("%s: no prefix of the token survives the cut", async (_label, field, quoted) => {
    const echo: Route = (req, res) => json(200, { status: field(String(req.headers.authorization)) })(req, res);
    const suite = parseSuite(
      { name: "echo", checks: [{ name: "echo", path: "/echo", auth: "bearer", expect: { json: [{ path: "status", equals: "fine" }] } }] },
      "test",
    );
    const a = await app({ "/echo": echo });
    const report = await runSmokeSuite({ baseUrl: a.url, token: LONG, suite });
    expect(a.seen[0].headers.authorization).toBe(`Bearer ${LONG}`);
    expect(report.checks[0].reason).toContain(quoted);
    const text = JSON.stringify(report);
    for (const piece of pieces(LONG)) expect(text).not.toContain(piece);
  });

  it("a key of an entry list and an entry's value are scrubbed too", async () => {
    const echo: Route = (req, res) => {
      const token = String(req.headers.authorization).slice("Bearer ".length);
      json(200, { checks: { [token]: `not ok ${token}` } })(req, res);
    };
    const suite = parseSuite(
      {
        name: "echo",
        checks: [{ name: "echo", path: "/echo", auth: "bearer", expect: { json: [{ path: "checks", everyEntryEquals: "ok" }] } }],
      },
      "test",
    );
    const a = await app({ "/echo": echo });
    const report = await runSmokeSuite({ baseUrl: a.url, token: LONG, suite });
    expect(report.checks[0].reason).toBe('expected every entry of JSON checks == "ok", got checks.[redacted] == "not ok [redacted]"');
    for (const piece of pieces(LONG)) expect(JSON.stringify(report)).not.toContain(piece);
  });
});

describe("bad input is refused before any request", () => {
  it.each([
    ["not a url", /is not a valid URL: give an absolute URL/],
    ["ftp://127.0.0.1/", /URL scheme ftp is not supported: use http:\/\/ or https:\/\//],
    ["http://user:pw@127.0.0.1/", /URL contains credentials/],
    ["http://", /is not a valid URL/],
  ])("%s", async (url, message) => {
    await expect(runSmokeSuite({ baseUrl: url, token: TOKEN })).rejects.toThrow(message);
    await expect(runSmokeSuite({ baseUrl: url, token: TOKEN })).rejects.toBeInstanceOf(UsageError);
  });

  it("a missing token while the authenticated check runs", async () => {
    const a = await app();
    await expect(runSmokeSuite({ baseUrl: a.url })).rejects.toThrow(/no token for check "user-me".*--skip user-me/);
    expect(a.seen).toHaveLength(0);
    // Skipping it is the way out.
    expect((await runSmokeSuite({ baseUrl: a.url, skip: ["user-me"] })).checks.map((c) => c.name)).toEqual(["health", "ready", "login"]);
  });

  it("an unknown check to skip", async () => {
    await expect(runSmokeSuite({ baseUrl: "http://127.0.0.1:1", token: TOKEN, skip: ["nope"] })).rejects.toThrow(
      /cannot skip "nope": suite qualisys has checks health, ready, login, user-me, tls/,
    );
  });

  it("a connect timeout not shorter than the per-check timeout", async () => {
    await expect(runSmokeSuite({ baseUrl: "http://127.0.0.1:1", token: TOKEN, timeoutMs: 1000, connectTimeoutMs: 1000 })).rejects.toThrow(
      "connect timeout (1000 ms) must be shorter than the per-check timeout (1000 ms)",
    );
  });

  it("nothing left to run", async () => {
    await expect(runSmokeSuite({ baseUrl: "http://127.0.0.1:1", skip: ["health", "ready", "login", "user-me"] })).rejects.toThrow(
      "every check of suite qualisys is skipped: nothing would be tested",
    );
  });

  it("extra CA certificates that are not PEM", async () => {
    await expect(runSmokeSuite({ baseUrl: "https://127.0.0.1:1", token: TOKEN, ca: "not a certificate" })).rejects.toThrow(
      "the extra CA certificates cannot be used (no PEM certificate found): give PEM certificates",
    );
    const garbled = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    await expect(runSmokeSuite({ baseUrl: "https://127.0.0.1:1", token: TOKEN, ca: garbled })).rejects.toThrow(
      /^the extra CA certificates cannot be used/,
    );
  });

  it("the default suite is the QualiSys one", () => {
    expect(qualisysSuite.checks.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /api/health",
      "GET /api/ready",
      "GET /login",
      "GET /api/v1/user/me",
    ]);
    expect(qualisysSuite.tls).toEqual({ enabled: true, minDaysValid: 14 });
  });
});

describe("the bearer token over plain http", () => {
  it("goes only to loopback", async () => {
    for (const host of ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "[::ffff:127.0.0.1]", "LOCALHOST"])
      expect(isLoopbackHost(new URL(`http://${host}/`).hostname), host).toBe(true);
    for (const host of [
      "app.qualisys.io",
      "10.0.0.5",
      "128.0.0.1",
      "[::2]",
      "[::ffff:10.0.0.1]",
      "localhost.example.com",
      "127.0.0.1.nip.io",
    ])
      expect(isLoopbackHost(new URL(`http://${host}/`).hostname), host).toBe(false);
  });

  it("is refused before any request when the URL is plain http to another host; https and skipping the check are fine", async () => {
    await expect(runSmokeSuite({ baseUrl: "http://app.qualisys.invalid", token: TOKEN })).rejects.toThrow(
      /^refusing to send the bearer token of check "user-me" over plain http to app\.qualisys\.invalid: .*nothing was sent$/,
    );
    await expect(runSmokeSuite({ baseUrl: "http://10.0.0.5:8080", token: TOKEN })).rejects.toBeInstanceOf(UsageError);
    expect(() => assertTokenTransport(new URL("https://app.qualisys.io"), "user-me")).not.toThrow();
    expect(() => assertTokenTransport(new URL("http://127.0.0.1:3000"), "user-me")).not.toThrow();
    // Loopback over http: the token is sent.
    const a = await app();
    expect((await runSmokeSuite({ baseUrl: a.url, token: TOKEN })).ok).toBe(true);
    expect(a.seen.find((s) => s.path === "/api/v1/user/me")?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});
