#!/usr/bin/env bash
# The release step of .github/workflows/deploy-production.yml: `dagger call … deploy --json`, then the release record
# in RECORD_FILE (for the notify step) and `settled=true` in $GITHUB_OUTPUT when release-gate reached its own verdict.
#
#   scripts/release-production.sh RECORD_FILE
#
# Reads the workflow's inputs and settings from the environment only (never from the command line): TAG,
# SKIP_CANARY, REASON, EKS_CLUSTER, AWS_REGION and the Actions variables (GITHUB_ACTOR, GITHUB_SERVER_URL,
# GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_OUTPUT). Secrets reach Dagger as env:// references (AWS keys,
# GITHUB_TOKEN, SMOKE_TEST_TOKEN). Exits with deploy's exit code: 0 released, 1 failed or rolled back, 2 refused.
#
# Why the record is read back: when the function fails (a release rolled back, exit 1), `dagger call` prints nothing
# on stdout; the function's output appears only inside the error on stderr (Dagger 0.21's cmd/dagger/functions.go).
# So after a failure the record is read from the cluster's history, and used only if it is this run's release.
set -euo pipefail

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

run_url="${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}"
# The run's actor and page reach the CLI in the toolbox (a function sees nothing of this environment): the record
# and the lock name who triggered the release.
connect=(
  --github-actor "${GITHUB_ACTOR}" --github-run-url "${run_url}"
  --eks-cluster "${EKS_CLUSTER}" --aws-region "${AWS_REGION}"
  --aws-access-key-id env://AWS_ACCESS_KEY_ID
  --aws-secret-access-key env://AWS_SECRET_ACCESS_KEY
  --aws-session-token env://AWS_SESSION_TOKEN
)

started=$(date -u +%s)
code=0
dagger --progress=plain call "${connect[@]}" \
  deploy --tag "${TAG}" "${emergency[@]}" \
  --github-run "${GITHUB_REPOSITORY}/${GITHUB_RUN_ID}" --github-token env://GITHUB_TOKEN \
  --token env://SMOKE_TEST_TOKEN --json >"${record}" || code=$?

# A refusal (2) changed nothing and wrote no record: there is nothing to read back.
if [[ ${code} -ne 0 && ${code} -ne 2 ]]; then
  history=$(mktemp)
  # This run's record only: the newest one, for this tag, from this run's page, started after this step began.
  # shellcheck disable=SC2016 # jq's $variables, not the shell's
  this_run='.[0] | select(.tag == $tag and ((.ciRun // "") | endswith("(" + $run + ")"))
    and ((.startedAt | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) >= $since))'
  if dagger --progress=plain call "${connect[@]}" history --json --limit 1 >"${history}" &&
    jq -e --arg tag "${TAG}" --arg run "${run_url}" --argjson since "${started}" "${this_run}" "${history}" >"${record}.tmp" &&
    [[ -s "${record}.tmp" ]]; then
    mv "${record}.tmp" "${record}"
    echo "deploy exited ${code}; its release record was read back from the release history"
  else
    rm -f "${record}.tmp"
    : >"${record}"
    echo "::warning::deploy exited ${code} and the release history holds no record of this run's release"
  fi
  rm -f "${history}"
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
