/**
 * How a simulated pod answers HTTP: as the QualiSys demo app of its version would (health, readiness, the
 * login page, the current user behind a bearer token), with its version and pod name in response headers,
 * unless the scenario makes that version misbehave (another status, another body, extra latency), possibly
 * only after it has been running a while or for a fraction of requests.
 */
import type { AppBehaviour } from "./scenario.ts";
import { globMatch } from "./scenario.ts";

export interface AppRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface AppResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Real milliseconds to wait before answering. */
  delayMs: number;
}

export interface AppInstance {
  podName: string;
  version: string;
  app: AppBehaviour;
  /** Scenario seconds the pod's container has been running, if it is. */
  runningForSeconds?: number;
}

const json = (status: number, body: unknown): Omit<AppResponse, "headers" | "delayMs"> & { type: string } => ({
  status,
  body: JSON.stringify(body),
  type: "application/json",
});

function normalAnswer(req: AppRequest, inst: AppInstance): { status: number; body: string; type: string; extra?: Record<string, string> } {
  switch (req.path) {
    case "/api/health":
      return json(200, { status: "ok" });
    case "/api/ready":
      return json(200, { status: "ready", checks: { database: "ok" } });
    case "/api/version":
      return json(200, { version: inst.version, pod: inst.podName });
    case "/login":
      return {
        status: 200,
        type: "text/html; charset=utf-8",
        body: `<!doctype html>\n<html><head><title>Sign In - QualiSys</title></head><body><h1>Sign In</h1><form method="post" action="/login"><input name="email"><input name="password" type="password"><button>Sign In</button></form><footer>v${inst.version}</footer></body></html>\n`,
      };
    case "/api/v1/user/me": {
      const auth = String(req.headers["authorization"] ?? "");
      if (!/^Bearer \S+/.test(auth))
        return { ...json(401, { error: "unauthorized" }), extra: { "WWW-Authenticate": 'Bearer realm="qualisys"' } };
      return json(200, { id: "usr_1001", email: "smoke-test@qualisys.io", name: "Smoke Test" });
    }
    case "/":
      return {
        status: 200,
        type: "text/html; charset=utf-8",
        body: `<!doctype html>\n<html><head><title>QualiSys</title></head><body><a href="/login">Sign In</a><footer>v${inst.version}</footer></body></html>\n`,
      };
    default:
      return json(404, { error: "not found", path: req.path });
  }
}

export function demoAppResponse(req: AppRequest, inst: AppInstance, random: () => number = Math.random): AppResponse {
  const normal = normalAnswer(req, inst);
  let status = normal.status;
  let body = normal.body;
  let type = normal.type;
  let delayMs = 0;
  for (const f of inst.app.failures) {
    if (f.paths && !f.paths.some((p) => globMatch(p, req.path))) continue;
    if ((inst.runningForSeconds ?? 0) < f.afterSeconds) continue;
    if (f.fraction < 1 && random() >= f.fraction) continue;
    if (f.status !== undefined) status = f.status;
    if (f.body !== undefined) {
      body = f.body;
      type = "text/plain; charset=utf-8";
    }
    if (f.latencyMs !== undefined) delayMs += f.latencyMs;
  }
  return {
    status,
    body,
    delayMs,
    headers: { "Content-Type": type, "X-App-Version": inst.version, "X-Pod-Name": inst.podName, ...(normal.extra ?? {}) },
  };
}
