/**
 * Scaled time for the simulator. Every duration a scenario states (readiness delays, back-offs,
 * progressDeadlineSeconds, minReadySeconds) is in simulated seconds; `msPerSecond` real milliseconds pass per
 * simulated second, so a 600 s progress deadline takes 6 s of real time at the default 10 ms.
 *
 * `now()` is the simulated wall clock: it starts at the real time the clock was created and then runs
 * `1000 / msPerSecond` times faster, so timestamps the simulator writes (creationTimestamp, condition times)
 * are consistent with the durations it enforces.
 */
export class Clock {
  readonly msPerSecond: number;
  private readonly startReal: number;
  private readonly startWall: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(msPerSecond = 10) {
    if (!(msPerSecond > 0)) throw new Error(`msPerSecond must be > 0, got ${msPerSecond}`);
    this.msPerSecond = msPerSecond;
    this.startReal = performance.now();
    this.startWall = Date.now();
  }

  /** Simulated milliseconds since the epoch. */
  nowMs(): number {
    return this.startWall + ((performance.now() - this.startReal) * 1000) / this.msPerSecond;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** RFC 3339 with second precision, as Kubernetes serialises metav1.Time. */
  timestamp(at: Date = this.now()): string {
    return at.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  /** Real milliseconds that `seconds` simulated seconds take. */
  realMs(seconds: number): number {
    return seconds * this.msPerSecond;
  }

  /** Run `fn` after `seconds` simulated seconds. Returns a cancel function. All timers die with stop(). */
  after(seconds: number, fn: () => void): () => void {
    if (this.stopped) return () => {};
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, this.realMs(seconds)),
    );
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
