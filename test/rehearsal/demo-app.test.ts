/**
 * The demo app the kind rehearsal's pods run (and the simulator's pods answer with): the smoke suite's endpoints,
 * its version in X-App-Version and /api/health, each misbehaviour, settings from the environment, and the image's
 * entry point bin/demo-app.js as a real process (port, SIGTERM, crash loop, refused settings).
 */
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEMO_FAILURES,
  demoAnswer,
  demoAppSettings,
  failureInVersion,
  startDemoApp,
  type DemoAnswerSettings,
  type DemoApp,
  type DemoAppSettings,
} from "#src/rehearsal/demo-app.ts";
import { runSmokeSuite } from "#src/smoke/runner.ts";

const ENTRY = fileURLToPath(new URL("../../bin/demo-app.js", import.meta.url));

let app: DemoApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const settings = (over: Partial<DemoAppSettings> = {}): DemoAppSettings => ({
  ...demoAppSettings({ APP_VERSION: "2.0.0", HOSTNAME: "web-6d4f-abcde", PORT: "0" }),
  ...over,
});

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await request(`${app!.url}${path}`, { headers });
  return { status: r.statusCode, headers: r.headers as Record<string, string>, body: await r.body.text() };
}

describe("a good version", () => {
  it("answers the smoke suite's endpoints and reports its version and pod", async () => {
    app = await startDemoApp(settings(), { host: "127.0.0.1" });
    const health = await get("/api/health");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: "ok", version: "2.0.0" });
    expect(health.headers["x-app-version"]).toBe("2.0.0");
    expect(health.headers["x-pod-name"]).toBe("web-6d4f-abcde");
    expect(JSON.parse((await get("/api/ready")).body)).toEqual({ status: "ready", checks: { database: "ok" } });
    expect((await get("/login")).body).toContain("Sign In");
    const anonymous = await get("/api/v1/user/me");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Bearer /);
    const me = await get("/api/v1/user/me", { Authorization: "Bearer any-token" });
    expect(JSON.parse(me.body).id).toBeTruthy();
    expect((await get("/nowhere")).status).toBe(404);
  });

  it("passes release-gate's own default smoke suite", async () => {
    app = await startDemoApp(settings(), { host: "127.0.0.1" });
    const report = await runSmokeSuite({ baseUrl: app.url, token: "rehearsal-token" });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

describe("misbehaving on demand", () => {
  const s = (failure: DemoAnswerSettings["failure"]): DemoAnswerSettings => ({
    version: "2.1.0",
    podName: "p",
    ...(failure ? { failure } : {}),
    errorRate: 0.5,
    slowMs: 6000,
  });
  const answer = (path: string, failure: DemoAnswerSettings["failure"], random = () => 0.9) =>
    demoAnswer({ method: "GET", path, headers: { authorization: "Bearer t" } }, s(failure), random);

  it("failing-health: health and readiness answer 503, the rest still works", () => {
    expect(answer("/api/health", "failing-health").status).toBe(503);
    expect(answer("/api/ready", "failing-health").status).toBe(503);
    expect(answer("/login", "failing-health").body).toContain("Sign In");
  });

  it("wrong-login: /login answers 200 without the sign-in form", () => {
    const login = answer("/login", "wrong-login");
    expect(login.status).toBe(200);
    expect(login.body).not.toContain("Sign In");
    expect(answer("/api/health", "wrong-login").status).toBe(200);
  });

  it("server-errors: the requests the draw picks answer 500; probes never do", () => {
    expect(answer("/login", "server-errors", () => 0.2).status).toBe(500);
    expect(answer("/login", "server-errors", () => 0.7).status).toBe(200);
    expect(answer("/api/v1/user/me", "server-errors", () => 0.49).status).toBe(500);
    expect(answer("/api/health", "server-errors", () => 0).status).toBe(200);
    expect(answer("/api/ready", "server-errors", () => 0).status).toBe(200);
    // Every answer still carries the version, so the observed split can count a failing canary.
    expect(answer("/login", "server-errors", () => 0).headers["X-App-Version"]).toBe("2.1.0");
  });

  it("server-errors fails about the configured share of requests with the real random draw", () => {
    let errors = 0;
    for (let i = 0; i < 2000; i++) if (demoAnswer({ method: "GET", path: "/", headers: {} }, s("server-errors")).status === 500) errors++;
    expect(errors).toBeGreaterThan(1000 - 4 * 23); // 1000 ± 4σ (σ ≈ 22.4)
    expect(errors).toBeLessThan(1000 + 4 * 23);
  });

  it("each failure fails the default smoke suite when served, except crash-loop (a process failure)", async () => {
    const failing: Record<string, string[]> = {};
    for (const failure of DEMO_FAILURES) {
      // slow: far past the suite's own 5 s timeout, so a busy machine cannot blur the verdict either way.
      app = await startDemoApp(settings({ failure, crashAfterMs: 3_600_000, slowMs: 120_000 }), { host: "127.0.0.1", random: () => 0 });
      const report = await runSmokeSuite({ baseUrl: app.url, token: "t" });
      failing[failure] = report.checks.filter((c) => !c.ok).map((c) => c.name);
      await app.close();
      app = undefined;
    }
    expect(failing).toEqual({
      "crash-loop": [],
      "failing-health": ["health", "ready"],
      "wrong-login": ["login"],
      "server-errors": ["login", "user-me"],
      slow: ["login", "user-me"],
    });
  });

  it("slow: user-facing answers are delayed past the smoke timeout, probes are not", () => {
    expect(answer("/login", "slow").delayMs).toBe(6000);
    expect(answer("/api/v1/user/me", "slow").delayMs).toBe(6000);
    expect(answer("/api/health", "slow").delayMs).toBe(0);
    expect(answer("/login", undefined).delayMs).toBe(0);
  });

  it("slow, served: the delayed answer still arrives whole", async () => {
    app = await startDemoApp(settings({ failure: "slow", slowMs: 50 }), { host: "127.0.0.1" });
    const login = await get("/login");
    expect(login.status).toBe(200);
    expect(login.body).toContain("Sign In");
  });

  it("crash-loop: serves normally, then ends the process with exit code 1", async () => {
    let exited!: (code: number) => void;
    const exit = new Promise<number>((resolve) => (exited = resolve));
    app = await startDemoApp(settings({ failure: "crash-loop", crashAfterMs: 20 }), { host: "127.0.0.1", exit: (c) => exited(c) });
    expect(await exit).toBe(1);
  });

  it("a closed crash-loop app never calls exit", async () => {
    let calls = 0;
    const a = await startDemoApp(settings({ failure: "crash-loop", crashAfterMs: 1 }), { host: "127.0.0.1", exit: () => calls++ });
    await a.close();
    // The server is closed and its timers cleared: a fresh app proves the event loop has moved on past 1 ms.
    app = await startDemoApp(settings(), { host: "127.0.0.1" });
    await get("/api/health");
    expect(calls).toBe(0);
  });
});

describe("settings from the environment", () => {
  it("reads version, pod, port and failure; the version may name the failure", () => {
    const s = demoAppSettings({ APP_VERSION: "2.1.0-wrong-login", HOSTNAME: "api-1", PORT: "8081" });
    expect(s).toMatchObject({ version: "2.1.0-wrong-login", podName: "api-1", port: 8081, failure: "wrong-login" });
    expect(demoAppSettings({ APP_VERSION: "2.1.0-wrong-login", DEMO_APP_FAILURE: "slow" }).failure).toBe("slow");
    expect(demoAppSettings({ APP_VERSION: "2.1.0-wrong-login", DEMO_APP_FAILURE: "none" }).failure).toBeUndefined();
    expect(demoAppSettings({}).failure).toBeUndefined();
  });

  it("a version names a failure only as its last part", () => {
    for (const f of DEMO_FAILURES) expect(failureInVersion(`3.0.0-${f}`)).toBe(f);
    expect(failureInVersion("1.2.0-bad")).toBeUndefined();
    expect(failureInVersion("2.0.0")).toBeUndefined();
    expect(failureInVersion("crash-loop-2.0.0")).toBeUndefined();
  });

  it.each([
    [{ DEMO_APP_FAILURE: "explode" }, /DEMO_APP_FAILURE="explode" is not one of: none, crash-loop/],
    [{ DEMO_APP_ERROR_RATE: "2" }, /DEMO_APP_ERROR_RATE="2" is not a share between 0 and 1/],
    [{ PORT: "http" }, /PORT="http" is not a TCP port/],
    [{ DEMO_APP_SLOW_MS: "-5" }, /DEMO_APP_SLOW_MS="-5" is not a number of milliseconds/],
  ])("refuses %o, naming the variable", (env, message) => {
    expect(() => demoAppSettings(env)).toThrow(message);
  });
});

describe("bin/demo-app.js, the image's entry point", () => {
  const running: ResultPromise[] = [];
  afterEach(() => {
    for (const p of running.splice(0)) p.kill("SIGKILL");
  });

  const start = (env: Record<string, string>) => {
    const p = execa(process.execPath, [ENTRY], {
      env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", ...env },
      extendEnv: false,
      reject: false,
    });
    running.push(p);
    return p;
  };

  /** Resolves with the URL the process prints once it listens. */
  const listening = (p: ResultPromise) =>
    new Promise<string>((resolve, reject) => {
      let out = "";
      p.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      p.stdout!.on("end", () => reject(new Error(`demo-app ended without listening:\n${out}`)));
    });

  it("serves its version and exits 0 on SIGTERM (a scale-down is not a crash)", async () => {
    const p = start({ APP_VERSION: "2.0.0" });
    const url = await listening(p);
    const r = await request(`${url}/api/health`);
    expect(r.headers["x-app-version"]).toBe("2.0.0");
    expect(await r.body.json()).toEqual({ status: "ok", version: "2.0.0" });
    p.kill("SIGTERM");
    expect((await p).exitCode).toBe(0);
  });

  it("a crash-loop version exits 1 by itself", async () => {
    const r = await start({ APP_VERSION: "2.1.0-crash-loop", DEMO_APP_CRASH_AFTER_MS: "0" });
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout)).toMatch(/crashing on purpose \(crash-loop\)/);
  });

  it("refuses bad settings with exit 2 and says which", async () => {
    const r = await start({ DEMO_APP_FAILURE: "explode" });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/^demo-app: DEMO_APP_FAILURE="explode" is not one of: .*; not started$/m);
  });
});
