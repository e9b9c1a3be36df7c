/**
 * Users, for metric-analysis tests and benches: a few concurrent loops sending GET requests through the
 * simulator's traffic edge (127.0.0.1 only) to the public hosts, so the edge's metrics have real traffic to
 * count while a release runs. Bounded in time (`maxMs`), stopped by `stop()`; every answer is kept in outline
 * (when, status, version, duration) so a bench can find the first failing request.
 */
import { Agent, request } from "undici";

export interface Answer {
  /** Wall-clock ms (Date.now()) when the answer was complete, comparable with recorded store events. */
  at: number;
  status: number;
  version: string | undefined;
  ms: number;
}

export interface UserTrafficOptions {
  edgeUrl: string;
  /** Host headers to cycle through (app.qualisys.io, api.qualisys.io). */
  hosts: string[];
  path: string;
  headers?: Record<string, string>;
  /** Concurrent loops (default 2). */
  workers?: number;
  /** Pause between a loop's requests (default 15 ms): steady traffic (about 100 requests/s) without starving the machine. */
  pauseMs?: number;
  /** Stop by itself after this long (default 5 min). */
  maxMs?: number;
}

export interface UserTraffic {
  answers: Answer[];
  stop(): Promise<Answer[]>;
}

export function startUserTraffic(o: UserTrafficOptions): UserTraffic {
  const agent = new Agent({ connections: o.workers ?? 2 });
  const answers: Answer[] = [];
  const deadline = performance.now() + (o.maxMs ?? 300_000);
  let stopped = false;
  const loop = async (worker: number) => {
    for (let i = worker; !stopped && performance.now() < deadline; i++) {
      const started = performance.now();
      try {
        const res = await request(o.edgeUrl + o.path, {
          dispatcher: agent,
          headers: { host: o.hosts[i % o.hosts.length]!, ...o.headers },
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await res.body.text();
        const version = res.headers["x-app-version"];
        answers.push({
          at: Date.now(),
          status: res.statusCode,
          version: typeof version === "string" ? version : undefined,
          ms: performance.now() - started,
        });
      } catch {
        answers.push({ at: Date.now(), status: 0, version: undefined, ms: performance.now() - started });
      }
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 15));
    }
  };
  const loops = Array.from({ length: o.workers ?? 2 }, (_, w) => loop(w));
  let stopping: Promise<Answer[]> | undefined;
  return {
    answers,
    stop() {
      stopped = true;
      stopping ??= Promise.all(loops)
        .then(() => agent.close())
        .then(() => answers);
      return stopping;
    },
  };
}
