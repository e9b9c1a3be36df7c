/**
 * How a simulated pod answers HTTP: as the module's demo app (.dagger/src/rehearsal/demo-app.ts, the same code the
 * kind rehearsal's pods run) of its version would, including the misbehaviour a version names ("2.1.0-wrong-login"),
 * with its version and pod name in response headers; then the scenario's own failures on top (another status,
 * another body, extra latency), possibly only after the pod has been running a while or for a fraction of requests.
 * Process-level behaviour (a crash loop, a pod that never becomes Ready) is the kubelet's, from the scenario's pod
 * behaviour: the simulator runs no process.
 */
import { DEMO_APP_DEFAULTS, demoAnswer, failureInVersion } from "#src/rehearsal/demo-app.ts";
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

export function demoAppResponse(req: AppRequest, inst: AppInstance, random: () => number = Math.random): AppResponse {
  const failure = failureInVersion(inst.version);
  const answer = demoAnswer(
    req,
    {
      version: inst.version,
      podName: inst.podName,
      ...(failure ? { failure } : {}),
      errorRate: DEMO_APP_DEFAULTS.errorRate,
      slowMs: DEMO_APP_DEFAULTS.slowMs,
    },
    random,
  );
  let { status, body, delayMs } = answer;
  const headers = { ...answer.headers };
  for (const f of inst.app.failures) {
    if (f.paths && !f.paths.some((p) => globMatch(p, req.path))) continue;
    if ((inst.runningForSeconds ?? 0) < f.afterSeconds) continue;
    if (f.fraction < 1 && random() >= f.fraction) continue;
    if (f.status !== undefined) status = f.status;
    if (f.body !== undefined) {
      body = f.body;
      headers["Content-Type"] = "text/plain; charset=utf-8";
    }
    if (f.latencyMs !== undefined) delayMs += f.latencyMs;
  }
  return { status, body, delayMs, headers };
}
