#!/usr/bin/env bash
# The rehearsal step of .github/workflows/rehearsal.yml: `dagger call rehearse` on the runner's Docker, its timeline
# in TIMELINE_FILE whether the story went well or not, Dagger's output (stderr) shown live and kept in LOG_FILE.
#
#   scripts/rehearse-on-kind.sh TIMELINE_FILE LOG_FILE
#
# Reads ROUTER, FAILURE, API_PORT and EDGE_PORT from the environment. Exits with the call's exit code (0 the story
# went as a release should, 1 it did not, 2 refused), or 1 when a passing call's timeline lacks its measurements.
#
# Why the timeline is looked for on stderr: when the function fails, `dagger call` prints nothing on stdout; with
# --progress=plain it prints the function's output after the error, between a line `Stdout:` and a line `Stderr:`
# (Dagger 0.21's cmd/dagger/functions.go). The timeline is taken from there, and only if it is one (its heading).
set -euo pipefail

timeline=${1:?usage: scripts/rehearse-on-kind.sh TIMELINE_FILE LOG_FILE}
log=${2:?usage: scripts/rehearse-on-kind.sh TIMELINE_FILE LOG_FILE}
heading='## release-gate rehearsal on kind:'

code=0
# stdout to the timeline, stderr both to the job's log (live) and to LOG_FILE.
{
  dagger --progress=plain call --kube-api="tcp://localhost:${API_PORT}" rehearse \
    --docker-socket=/var/run/docker.sock \
    --edge="tcp://localhost:${EDGE_PORT}" \
    --router="${ROUTER}" \
    --failure="${FAILURE}" \
    --delete-cluster \
    2>&1 >&3 | tee "${log}" >&2
} 3>"${timeline}" || code=$?

if [[ ${code} -ne 0 ]]; then
  # The last Stdout: block Dagger printed after the error.
  awk '
    $0 == "Stdout:" { block = ""; inside = 1; next }
    inside && $0 == "Stderr:" { inside = 0; last = block; next }
    inside { block = block $0 "\n" }
    END { if (inside) last = block; printf "%s", last }
  ' "${log}" >"${timeline}.tmp"
  if [[ $(head -n 1 "${timeline}.tmp") == "${heading}"* ]]; then
    mv "${timeline}.tmp" "${timeline}"
  else
    rm -f "${timeline}.tmp"
  fi
  cat "${timeline}"
  echo "::error::dagger call rehearse exited ${code}"
  exit "${code}"
fi

cat "${timeline}"
# A passing call printed the whole story, with its measurements.
for expected in \
  'the good release was promoted and the bad one rolled back by itself' \
  'Time to detect the failure:\*\* [0-9]' \
  'Time until traffic was back on stable' \
  'After the rollback, through the edge'; do
  if ! grep -q -- "${expected}" "${timeline}"; then
    echo "::error::the rehearsal passed but its timeline lacks: ${expected}"
    exit 1
  fi
done
