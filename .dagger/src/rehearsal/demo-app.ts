/**
 * The demo app: a tiny HTTP service standing in for QualiSys in rehearsals. It answers the smoke suite's endpoints
 * (/api/health, /api/ready, /login with "Sign In", /api/v1/user/me behind a bearer token), reports its version in
 * X-App-Version and /api/health, and misbehaves on demand, named by DEMO_APP_FAILURE or by its own version
 * ("2.1.0-wrong-login").
 *
 * The same code answers for the pods of the kind rehearsal (bin/demo-app.js runs it in the image Dagger builds) and
 * for the simulator's pods (test/sim/demo-app.ts asks demoAnswer()), so `npm run demo` and `dagger call rehearse`
 * release the same app. Plain node:http and no dependencies: the image holds this file and its entry only.
 * Importing it does nothing; startDemoApp() starts a server.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** How a bad version can fail, from the most blatant to the most subtle. */
export const DEMO_FAILURES = ["crash-loop", "failing-health", "wrong-login", "server-errors", "slow"] as const;
export type DemoFailure = (typeof DEMO_FAILURES)[number];

/** What each failure does, for --help texts, docs and the rehearsal's timeline. */
export const DEMO_FAILURE_DESCRIPTIONS: Record<DemoFailure, string> = {
  "crash-loop": "the process exits 1 a few seconds after it starts, so its pods crash-loop",
  "failing-health": "/api/health and /api/ready answer 503, so its pods never become Ready",
  "wrong-login": "/login answers 200 with a maintenance page instead of the sign-in form",
  "server-errors": "half of the user-facing requests answer 500 (health checks stay green)",
  slow: "user-facing requests take 6 s, longer than the smoke suite's 5 s timeout (health checks stay fast)",
};

export interface DemoAppSettings {
  version: string;
  /** Reported in X-Pod-Name: the pod's name on Kubernetes (HOSTNAME). */
  podName: string;
  failure?: DemoFailure;
  /** server-errors: the share of user-facing requests answered 500. */
  errorRate: number;
  /** slow: how long a user-facing answer takes. */
  slowMs: number;
  /** crash-loop: how long the process serves before it exits 1. */
  crashAfterMs: number;
  port: number;
}

export const DEMO_APP_DEFAULTS = { port: 3000, errorRate: 0.5, slowMs: 6_000, crashAfterMs: 3_000 } as const;

export function isDemoFailure(value: string): value is DemoFailure {
  return (DEMO_FAILURES as readonly string[]).includes(value);
}

/** The failure a version names after its last "-": "2.1.0-crash-loop" crash-loops, "2.1.0" and "1.2.0-bad" do not. */
export function failureInVersion(version: string): DemoFailure | undefined {
  return DEMO_FAILURES.find((f) => version.endsWith(`-${f}`));
}

type Env = Record<string, string | undefined>;

function numberSetting(env: Env, name: string, fallback: number, valid: (n: number) => boolean, what: string): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !valid(n)) throw new Error(`${name}=${JSON.stringify(raw)} is not ${what}`);
  return n;
}

/**
 * Settings from the environment: APP_VERSION, HOSTNAME, DEMO_APP_FAILURE (else the failure the version names),
 * DEMO_APP_ERROR_RATE, DEMO_APP_SLOW_MS, DEMO_APP_CRASH_AFTER_MS, PORT. A bad value throws, naming it.
 */
export function demoAppSettings(env: Env): DemoAppSettings {
  const version = env.APP_VERSION?.trim() || "0.0.0-dev";
  const named = env.DEMO_APP_FAILURE?.trim();
  if (named && named !== "none" && !isDemoFailure(named)) {
    throw new Error(`DEMO_APP_FAILURE=${JSON.stringify(named)} is not one of: none, ${DEMO_FAILURES.join(", ")}`);
  }
  const failure = named === "none" ? undefined : named ? (named as DemoFailure) : failureInVersion(version);
  return {
    version,
    podName: env.HOSTNAME?.trim() || "demo-app",
    ...(failure ? { failure } : {}),
    errorRate: numberSetting(env, "DEMO_APP_ERROR_RATE", DEMO_APP_DEFAULTS.errorRate, (n) => n >= 0 && n <= 1, "a share between 0 and 1"),
    slowMs: numberSetting(env, "DEMO_APP_SLOW_MS", DEMO_APP_DEFAULTS.slowMs, (n) => n >= 0, "a number of milliseconds"),
    crashAfterMs: numberSetting(env, "DEMO_APP_CRASH_AFTER_MS", DEMO_APP_DEFAULTS.crashAfterMs, (n) => n >= 0, "a number of milliseconds"),
    port: numberSetting(env, "PORT", DEMO_APP_DEFAULTS.port, (n) => Number.isInteger(n) && n >= 0 && n < 65536, "a TCP port"),
  };
}

export interface DemoRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
}

export interface DemoAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds to wait before answering. */
  delayMs: number;
}

export type DemoAnswerSettings = Pick<DemoAppSettings, "version" | "podName" | "failure" | "errorRate" | "slowMs">;

const HTML = "text/html; charset=utf-8";
const JSON_TYPE = "application/json";

/** The probes' endpoints: server-errors and slow spare them, as a real app's cheap health handlers would be. */
const PROBES = new Set(["/api/health", "/api/ready"]);

function page(title: string, body: string, version: string): string {
  return `<!doctype html>\n<html><head><title>${title}</title></head><body>${body}<footer>v${version}</footer></body></html>\n`;
}

function normalAnswer(
  req: DemoRequest,
  s: DemoAnswerSettings,
): { status: number; type: string; body: string; extra?: Record<string, string> } {
  const json = (status: number, body: unknown) => ({ status, type: JSON_TYPE, body: JSON.stringify(body) });
  const failingHealth = s.failure === "failing-health";
  switch (req.path) {
    case "/api/health":
      return failingHealth ? json(503, { status: "failing", version: s.version }) : json(200, { status: "ok", version: s.version });
    case "/api/ready":
      return failingHealth
        ? json(503, { status: "not ready", checks: { database: "unreachable" } })
        : json(200, { status: "ready", checks: { database: "ok" } });
    case "/api/version":
      return json(200, { version: s.version, pod: s.podName });
    case "/login":
      if (s.failure === "wrong-login") {
        return {
          status: 200,
          type: HTML,
          body: page("Maintenance - QualiSys", "<h1>We'll be right back</h1><p>Scheduled maintenance.</p>", s.version),
        };
      }
      return {
        status: 200,
        type: HTML,
        body: page(
          "Sign In - QualiSys",
          '<h1>Sign In</h1><form method="post" action="/login"><input name="email"><input name="password" type="password"><button>Sign In</button></form>',
          s.version,
        ),
      };
    case "/api/v1/user/me": {
      const auth = String(req.headers["authorization"] ?? "");
      if (!/^Bearer \S+/.test(auth))
        return { ...json(401, { error: "unauthorized" }), extra: { "WWW-Authenticate": 'Bearer realm="qualisys"' } };
      return json(200, { id: "usr_1001", email: "smoke-test@qualisys.io", name: "Smoke Test" });
    }
    case "/":
      return { status: 200, type: HTML, body: page("QualiSys", '<a href="/login">Sign In</a>', s.version) };
    default:
      return json(404, { error: "not found", path: req.path });
  }
}

/**
 * How the app of these settings answers a request. `random` decides which requests a server-errors version fails
 * (tests pass their own). Crash-loop answers normally: its failure is the process exiting (startDemoApp).
 */
export function demoAnswer(req: DemoRequest, s: DemoAnswerSettings, random: () => number = Math.random): DemoAnswer {
  const normal = normalAnswer(req, s);
  let { status, type, body } = normal;
  let delayMs = 0;
  if (!PROBES.has(req.path)) {
    if (s.failure === "server-errors" && random() < s.errorRate) {
      status = 500;
      type = JSON_TYPE;
      body = JSON.stringify({ error: "internal server error" });
    }
    if (s.failure === "slow") delayMs = s.slowMs;
  }
  return {
    status,
    body,
    delayMs,
    headers: { "Content-Type": type, "X-App-Version": s.version, "X-Pod-Name": s.podName, ...(status === 401 ? (normal.extra ?? {}) : {}) },
  };
}

export interface DemoApp {
  url: string;
  port: number;
  /** Stops accepting connections, ends idle ones, and resolves once the server is closed. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Interface to listen on; 0.0.0.0 in the image, 127.0.0.1 in tests. */
  host?: string;
  /** How a crash-loop version ends the process (process.exit by default; tests pass their own). */
  exit?: (code: number) => void;
  log?: (line: string) => void;
  random?: () => number;
}

/** Starts the app (port 0: any free port); a crash-loop version calls `exit(1)` after crashAfterMs. */
export async function startDemoApp(s: DemoAppSettings, opts: StartOptions = {}): Promise<DemoApp> {
  const log = opts.log ?? (() => {});
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const answer = demoAnswer(
      { method: req.method ?? "GET", path: new URL(req.url ?? "/", "http://demo").pathname, headers: req.headers },
      s,
      opts.random,
    );
    req.resume();
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(answer.status, { ...answer.headers, "Content-Length": String(Buffer.byteLength(answer.body)) });
      res.end(req.method === "HEAD" ? undefined : answer.body);
    };
    if (answer.delayMs <= 0) return send();
    const t = setTimeout(() => {
      timers.delete(t);
      send();
    }, answer.delayMs);
    timers.add(t);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(s.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? "0.0.0.0";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log(`demo-app ${s.version} listening on ${url}${s.failure ? ` (failure: ${s.failure} — ${DEMO_FAILURE_DESCRIPTIONS[s.failure]})` : ""}`);
  if (s.failure === "crash-loop") {
    const t = setTimeout(() => {
      log(`demo-app ${s.version}: crashing on purpose (crash-loop) after ${s.crashAfterMs} ms`);
      (opts.exit ?? ((code: number) => process.exit(code)))(1);
    }, s.crashAfterMs);
    timers.add(t);
  }
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeIdleConnections();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
