#!/usr/bin/env bash
# The release step of .github/workflows/deploy-production.yml: `dagger call … deploy --json`, then the release record
# in RECORD_FILE (for the notify step) and `settled=true` in $GITHUB_OUTPUT when release-gate reached its own verdict.
#
#   scripts/release-production.sh RECORD_FILE
#
# Reads the workflow's inputs and settings from the environment only (never from the command line): TAG,
# SKIP_CANARY, REASON, and what scripts/lib/production.sh reads. Secrets reach Dagger as env:// references (AWS keys,
# GITHUB_TOKEN, SMOKE_TEST_TOKEN). Exits with deploy's exit code: 0 released, 1 failed or rolled back, 2 refused.
# After a failed deploy the record is read back from the cluster's history (see read_back_record), and used only
# if it is this run's release.
set -euo pipefail
# shellcheck source=scripts/lib/production.sh disable=SC1091 # linted on its own
source "$(dirname "${BASH_SOURCE[0]}")/lib/production.sh"

record=${1:?usage: scripts/release-production.sh RECORD_FILE}

# Validated again right where it is used: the job may be re-run on its own.
if [[ ! ${TAG:-} =~ ^([A-Za-z0-9_][A-Za-z0-9._-]{0,127}|sha256:[a-f0-9]{64})$ ]]; then
  echo "::error::image_tag is not an image tag or digest"
  exit 2
fi
emergency=()
if [[ ${SKIP_CANARY:-} == "true" ]]; then
  if [[ ! ${REASON:-} =~ [^[:space:]] || ${REASON} == *$'\n'* ]]; then
    echo "::error::skip_canary needs a one-line reason"
    exit 2
  fi
  emergency=(--skip-canary --reason "${REASON}")
fi

started=$(date -u +%s)
code=0
production_call \
  deploy --tag "${TAG}" "${emergency[@]}" \
  --github-run "${GITHUB_REPOSITORY}/${GITHUB_RUN_ID}" --github-token env://GITHUB_TOKEN \
  --token env://SMOKE_TEST_TOKEN --json >"${record}" || code=$?

# A refusal (2) changed nothing and wrote no record: there is nothing to read back.
if [[ ${code} -ne 0 && ${code} -ne 2 ]]; then
  # This run's record only: the newest one, for this tag, from this run's page, started after this step began.
  if read_back_record "${record}" "${started}" "${TAG}"; then
    echo "deploy exited ${code}; its release record was read back from the release history"
  else
    echo "::warning::deploy exited ${code} and the release history holds no record of this run's release"
  fi
fi

# Settled: release-gate reached its own verdict and left nothing in flight (released, refused, or rolled back by
# itself). Anything else (no record, or a rollback that failed) leaves the clean-up job to look and roll back.
settled=false
if [[ ${code} -eq 0 || ${code} -eq 2 ]]; then
  settled=true
elif [[ -s ${record} ]] && jq -e '.outcome == "succeeded" or .outcome == "rolled-back" or .outcome == "no-change"' "${record}" >/dev/null 2>&1; then
  settled=true
fi
if [[ ${settled} == "true" ]]; then echo "settled=true" >>"${GITHUB_OUTPUT}"; fi
exit "${code}"
