/**
 * A stand-in `dagger` executable for the workflow scripts under scripts/: it records each call's arguments and
 * answers per function (the first of deploy, history, rehearse… among its arguments) with a scripted stdout,
 * stderr and exit code, as `dagger call` does (a failed function: nothing on stdout). `__NOW__` in an answer becomes
 * the time of the call (ISO 8601, UTC), so a record can be "made by this call".
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeAnswer {
  exit: number;
  stdout?: string;
  stderr?: string;
}

export interface FakeDagger {
  /** Put first on PATH. */
  bin: string;
  dir: string;
  /** What each function answers from now on. */
  answer(fn: string, a: FakeAnswer): Promise<void>;
  /** Every call's arguments so far, in order. */
  calls(): Promise<string[][]>;
}

const FUNCTIONS = ["deploy", "history", "rehearse", "status", "rollback"];

export async function fakeDagger(): Promise<FakeDagger> {
  const dir = await mkdtemp(join(tmpdir(), "release-gate-fake-dagger-"));
  const bin = join(dir, "bin");
  const answers = join(dir, "answers");
  const calls = join(dir, "calls");
  await Promise.all([mkdir(bin), mkdir(answers), mkdir(calls)]);
  const script = `#!/usr/bin/env bash
set -euo pipefail
n=$(find ${JSON.stringify(calls)} -type f | wc -l)
printf '%s\\0' "$@" >${JSON.stringify(calls)}/$(printf '%04d' "$n")
fn=none
for a in "$@"; do
  case "$a" in ${FUNCTIONS.join("|")}) fn=$a; break ;; esac
done
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
answer=${JSON.stringify(answers)}/$fn
if [[ -f "$answer.stdout" ]]; then sed "s/__NOW__/$now/g" "$answer.stdout"; fi
if [[ -f "$answer.stderr" ]]; then sed "s/__NOW__/$now/g" "$answer.stderr" >&2; fi
exit "$(cat "$answer.exit" 2>/dev/null || echo 127)"
`;
  await writeFile(join(bin, "dagger"), script);
  await chmod(join(bin, "dagger"), 0o755);
  return {
    bin,
    dir,
    async answer(fn, a) {
      await writeFile(join(answers, `${fn}.exit`), String(a.exit));
      await writeFile(join(answers, `${fn}.stdout`), a.stdout ?? "");
      await writeFile(join(answers, `${fn}.stderr`), a.stderr ?? "");
    },
    async calls() {
      const files = (await readdir(calls)).sort();
      return Promise.all(files.map(async (f) => (await readFile(join(calls, f), "utf8")).split("\0").slice(0, -1)));
    },
  };
}
