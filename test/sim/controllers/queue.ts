/**
 * A controller work queue: keys are deduplicated while waiting, handled one at a time on a later tick (so a
 * handler's own store writes, which notify watchers synchronously, never re-enter it), and retried with a
 * short back-off when the handler throws (a 409 Conflict, say), as client-go's rate-limited queue does.
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly handler: (key: string) => void;
  private readonly onError: (key: string, err: unknown) => void;
  private scheduled = false;
  private stopped = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(handler: (key: string) => void, onError: (key: string, err: unknown) => void = () => {}) {
    this.handler = handler;
    this.onError = onError;
  }

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
  }

  private drain(): void {
    this.scheduled = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.stopped) return;
      try {
        this.handler(key);
      } catch (err) {
        this.onError(key, err);
        const t = setTimeout(() => {
          this.retryTimers.delete(t);
          this.add(key);
        }, 20);
        this.retryTimers.add(t);
      }
    }
  }
}
