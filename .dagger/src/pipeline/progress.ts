/**
 * Progress output: the current step, weight, elapsed time and what the pipeline waits for. Every line starts with
 * the time since the run began in one fixed-width column (`[+02:15]`). During a wait a heartbeat repeats what is
 * awaited, for how long, and what the waiter knows so far (time left in the window, probes passed, pods Ready), at
 * least every 10 s: on a terminal one line rewritten in place (every second), elsewhere (CI logs) a plain line once
 * nothing else was printed for the heartbeat interval. Never prints secrets: it only ever receives names, weights
 * and reasons.
 */

export interface Progress {
  step(label: string, weight?: number): void;
  /**
   * A wait begins (it lasts until the next wait or step). `detail`, when given, is asked at every heartbeat for what
   * the waiter knows now ("1m 20s left · 3 probes passed · pods Ready 1/1").
   */
  waiting(what: string, detail?: () => string | undefined): void;
  info(message: string): void;
  warn(message: string): void;
}

export const silentProgress: Progress = { step() {}, waiting() {}, info() {}, warn() {} };

/** At least this often a wait says it is still waiting (issue: a 2-minute window must not be silent). */
export const HEARTBEAT_MS = 10_000;
/** A terminal's waiting line is rewritten this often (it costs nothing: no request, one line). */
const TTY_REFRESH_MS = 1_000;

export interface StreamProgressOptions {
  stream?: Pick<NodeJS.WriteStream, "write"> & { isTTY?: boolean };
  /** The clock (tests pass a fake one); Date.now by default. */
  now?: () => number;
  /** When the run began (elapsed times count from here); now() by default. */
  start?: number;
  /** The heartbeat interval on a log (not a terminal); HEARTBEAT_MS by default. */
  heartbeatMs?: number;
}

/** `[+MM:SS]` since the start (hours only past 99 minutes): the same width on every line. */
export function elapsedColumn(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = Math.floor(s / 60);
  return `[+${String(mm).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}]`;
}

/** "45s", "2m 05s": a short duration for a heartbeat. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

export function streamProgress(o: StreamProgressOptions = {}): Progress {
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? Date.now;
  const start = o.start ?? now();
  const tty = Boolean(stream.isTTY);
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  let current = "preflight";
  let weight: number | undefined;
  let pendingLine = false;
  let lastLineAt = now();
  let wait: { what: string; since: number; detail: (() => string | undefined) | undefined } | undefined;
  let timer: NodeJS.Timeout | undefined;

  const prefix = () => `${elapsedColumn(now() - start)} ${current}${weight !== undefined ? ` · weight ${weight}%` : ""}`;
  const line = (text: string) => {
    if (tty && pendingLine) stream.write("\r\x1b[2K");
    stream.write(text + "\n");
    pendingLine = false;
    lastLineAt = now();
  };
  const waitingLine = (): string => {
    if (!wait) return "";
    let known: string | undefined;
    try {
      known = wait.detail?.();
    } catch {
      known = undefined; // A heartbeat never fails the run.
    }
    const waited = now() - wait.since;
    const how = waited >= 1000 ? ` (${shortDuration(waited)} so far)` : "";
    return `${prefix()} · waiting for ${wait.what}${how}${known ? ` · ${known}` : ""}`;
  };
  const beat = () => {
    if (!wait) return;
    if (tty) {
      stream.write(`\r\x1b[2K${waitingLine()}`);
      pendingLine = true;
    } else if (now() - lastLineAt >= heartbeatMs) line(waitingLine());
  };
  const stopBeating = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    wait = undefined;
  };
  const startBeating = () => {
    if (timer) clearInterval(timer);
    // On a log, check often enough that the heartbeat is at most a tick late; a terminal redraws every second.
    timer = setInterval(beat, tty ? TTY_REFRESH_MS : Math.min(TTY_REFRESH_MS, heartbeatMs));
    timer.unref?.(); // A heartbeat never keeps the process alive.
  };

  return {
    step(label, w) {
      stopBeating();
      current = label;
      weight = w ?? weight;
      line(`${prefix()} · started`);
    },
    waiting(what, detail) {
      wait = { what, since: now(), detail };
      if (tty) {
        stream.write(`\r\x1b[2K${waitingLine()}`);
        pendingLine = true;
      } else line(waitingLine());
      startBeating();
    },
    info(message) {
      line(`${prefix()} · ${message}`);
    },
    warn(message) {
      line(`${prefix()} · WARNING: ${message}`);
    },
  };
}
