/**
 * What an observation window tells the people watching it: a heartbeat on the progress output (time left, probes
 * passed, canary pods Ready), the same in the in-flight state for `status --watch` (written when the window starts,
 * then at most once per heartbeat and only when something changed: one small write, like a lock renewal), and,
 * when a signal fails the step, when that signal was first seen and when it failed the step (the record's
 * `detection`). Makes no decision: the window (steps.ts observe) does.
 */
import type { Detection, StepRecord } from "../audit/record.ts";
import { describeApiError } from "../kube/api-errors.ts";
import { type Run, servicesOf } from "./context.ts";
import type { ObservationInFlight } from "./journal.ts";
import { HEARTBEAT_MS, shortDuration } from "./progress.ts";

/** Each canary's Ready pods of its desired replicas, as the run's watch sees them: "qualisys-api 1/1, qualisys-web 1/1". */
export function canaryPodsReady(run: Run): string {
  return servicesOf(run)
    .map((s) => {
      const d = run.cluster.deployment(s.canary.deployment);
      return `${s.name} ${d?.status?.readyReplicas ?? 0}/${d?.spec?.replicas ?? 0}`;
    })
    .join(", ");
}

export class ObservationLog {
  private readonly run: Run;
  private readonly rec: StepRecord | undefined;
  private readonly state: ObservationInFlight;
  private readonly endsAtMs: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private written = "";

  constructor(run: Run, o: { weight: number; windowMs: number; rec?: StepRecord }) {
    this.run = run;
    this.rec = o.rec;
    const start = Date.now();
    this.endsAtMs = start + o.windowMs;
    this.state = {
      weight: o.weight,
      startedAt: new Date(start).toISOString(),
      endsAt: new Date(this.endsAtMs).toISOString(),
      probesPassed: 0,
    };
  }

  /** The heartbeat's detail: what the window knows now. */
  detail = (): string => {
    const last = this.state.lastProbe;
    return [
      `${shortDuration(Math.max(0, this.endsAtMs - Date.now()))} left`,
      `${this.state.probesPassed} probe(s) passed${last && !last.ok ? `, last failed (${(last.failed ?? []).join("; ")})` : ""}`,
      `canary pods Ready: ${canaryPodsReady(this.run)}`,
    ].join(" · ");
  };

  /** The window started: written to the in-flight state now, then at most once per heartbeat while it changes. */
  start(): void {
    this.flush();
    this.timer = setInterval(() => this.flush(), HEARTBEAT_MS);
    this.timer.unref?.();
  }

  probePassed(): void {
    this.state.probesPassed++;
    this.state.lastProbe = { at: new Date().toISOString(), ok: true };
  }

  probeFailed(failed: string[]): void {
    this.state.lastProbe = { at: new Date().toISOString(), ok: false, failed };
  }

  /** The first failing signal of the window, with when it was first seen (default: now): kept in the step's record. */
  detected(signal: Detection["signal"], reason: string, firstSeenAt: number = Date.now()): void {
    if (!this.rec || this.rec.detection) return;
    this.rec.detection = { signal, reason, firstSeenAt: new Date(firstSeenAt).toISOString(), detectedAt: new Date().toISOString() };
  }

  /** The window is over: no more writes (one under way is waited for, so the next step's write does not race it). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  private flush(): void {
    const text = JSON.stringify(this.state);
    if (text === this.written) return;
    this.written = text;
    const snapshot = structuredClone(this.state);
    // Best effort: what status shows is never a reason to fail a release (a lost lock stops the run by itself).
    this.writing = this.writing
      .then(() => this.run.journal.observing(snapshot))
      .catch((err: unknown) => this.run.env.progress.warn(`could not write the observation's progress: ${describeApiError(err)}`));
  }
}
