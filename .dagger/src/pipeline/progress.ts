/**
 * Progress output: the current step, weight, elapsed time and what the pipeline waits for. On a terminal the
 * waiting line is rewritten in place; elsewhere (CI logs) each change is one line. Never prints secrets: it
 * only ever receives names, weights and reasons.
 */
import { formatDuration } from "../config/duration.ts";

export interface Progress {
  step(label: string, weight?: number): void;
  waiting(what: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export const silentProgress: Progress = { step() {}, waiting() {}, info() {}, warn() {} };

export function streamProgress(stream: NodeJS.WriteStream = process.stderr, start = Date.now()): Progress {
  const tty = Boolean(stream.isTTY);
  let current = "preflight";
  let weight: number | undefined;
  let pendingLine = false;
  const prefix = () =>
    `[${formatDuration(Date.now() - start).padStart(6)}] ${current}${weight !== undefined ? ` · weight ${weight}%` : ""}`;
  const line = (text: string) => {
    if (tty && pendingLine) stream.write("\r\x1b[2K");
    stream.write(text + "\n");
    pendingLine = false;
  };
  return {
    step(label, w) {
      current = label;
      weight = w ?? weight;
      line(`${prefix()} · started`);
    },
    waiting(what) {
      if (tty) {
        stream.write(`\r\x1b[2K${prefix()} · waiting for ${what}`);
        pendingLine = true;
      } else line(`${prefix()} · waiting for ${what}`);
    },
    info(message) {
      line(`${prefix()} · ${message}`);
    },
    warn(message) {
      line(`${prefix()} · WARNING: ${message}`);
    },
  };
}
