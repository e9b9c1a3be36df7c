#!/usr/bin/env bash
# The clean-up job of .github/workflows/deploy-production.yml, after a run that was cancelled or failed before
# release-gate reached its own verdict (a cancelled `dagger call` is killed outright, so nothing rolled back): wait
# until the dead run's lock is stale, roll back what is in flight, then leave this run's newest release record in
# RECORD_FILE for the notify step (the clean-up's rollback, or what the deploy recorded), empty when there is none.
# What clean-up found and did also goes to the job summary.
#
#   scripts/clean-up-production.sh RECORD_FILE
#
# Reads from the environment only: what scripts/lib/production.sh reads, GITHUB_RUN_ATTEMPT and
# GITHUB_STEP_SUMMARY. Exits 0 when production is at rest (nothing in flight, or rolled back), 1 otherwise.
set -euo pipefail
# shellcheck source=scripts/lib/production.sh disable=SC1091 # linted on its own
source "$(dirname "${BASH_SOURCE[0]}")/lib/production.sh"

record=${1:?usage: scripts/clean-up-production.sh RECORD_FILE}
status=$(mktemp)
trap 'rm -f "${status}"' EXIT

# One line for the job summary and the log.
tell() { echo "$1" | tee -a "${GITHUB_STEP_SUMMARY}"; }

deadline=$((SECONDS + 300))
while :; do
  if ! production_call status --json >"${status}"; then
    tell "Clean-up could not read production's status: nothing was rolled back; run release-gate status and rollback by hand."
    read_back_record "${record}" 0 || true
    exit 1
  fi
  if ! jq -e '.inFlight != null or .stateUnreadable != null' "${status}" >/dev/null; then
    tell "Clean-up found nothing in flight: the run ended with production at rest; nothing was rolled back."
    # What the deploy recorded, if it got that far.
    read_back_record "${record}" 0 || true
    exit 0
  fi
  if jq -e '.lock == null or .lock.stale' "${status}" >/dev/null; then
    break
  fi
  if ((SECONDS > deadline)); then
    echo "::error::the release lock is still renewed by $(jq -r '.lock.holder' "${status}"): a live run owns production; not taking it over"
    tell "Clean-up found a release in flight whose lock is still renewed by $(jq -r '.lock.holder' "${status}"): not taken over, nothing was rolled back."
    read_back_record "${record}" 0 || true
    exit 1
  fi
  echo "the lock is still live ($(jq -r '.lock.holder' "${status}")); waiting for it to go stale"
  sleep 10
done

started=$(date -u +%s)
code=0
production_call \
  rollback --reason "run ${GITHUB_RUN_ID} (${GITHUB_RUN_ATTEMPT}) was cancelled or failed mid-release" \
  --json >"${record}" || code=$?
# A failed call prints nothing on stdout: the rollback's own record is read back (this run's, made since it began).
if [[ ${code} -ne 0 || ! -s ${record} ]]; then read_back_record "${record}" "${started}" || true; fi
if [[ ${code} -eq 0 ]]; then
  tell "Clean-up found a release in flight left by the dead run, and rolled it back."
else
  tell "Clean-up found a release in flight left by the dead run; its rollback FAILED (exit ${code}): see the record and release-gate status."
fi
exit "${code}"
