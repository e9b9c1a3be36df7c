# shellcheck shell=bash
# What the production workflow's scripts share (sourced by scripts/release-production.sh and
# scripts/clean-up-production.sh): the `dagger call` with the run's GitHub context and the cluster settings, and the
# release record read back from the cluster's history.
#
# Reads from the environment only: EKS_CLUSTER, AWS_REGION and the Actions variables (GITHUB_ACTOR,
# GITHUB_SERVER_URL, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID). Secrets reach Dagger as env:// references.

# This run's page: records made for it end their ciRun with "(<this URL>)".
production_run_url() {
  printf '%s/%s/actions/runs/%s' "${GITHUB_SERVER_URL}" "${GITHUB_REPOSITORY}" "${GITHUB_RUN_ID}"
}

# `dagger call <connection> "$@"`. The run's actor, page and API root reach the CLI in the toolbox (a function sees
# nothing of this environment): records and the lock name who triggered them, and the run's approvals are read from
# the GitHub it runs on (GitHub Enterprise Server too).
production_call() {
  local api=()
  if [[ -n ${GITHUB_API_URL:-} ]]; then api=(--github-api-url "${GITHUB_API_URL}"); fi
  dagger --progress=plain call \
    --github-actor "${GITHUB_ACTOR}" --github-run-url "$(production_run_url)" "${api[@]}" \
    --eks-cluster "${EKS_CLUSTER}" --aws-region "${AWS_REGION}" \
    --aws-access-key-id env://AWS_ACCESS_KEY_ID \
    --aws-secret-access-key env://AWS_SECRET_ACCESS_KEY \
    --aws-session-token env://AWS_SESSION_TOKEN \
    "$@"
}

# read_back_record RECORD_FILE SINCE [TAG]: the newest record of the release history into RECORD_FILE if it is this
# run's (its ciRun ends with this run's page), started at or after SINCE (seconds since the epoch) and, when TAG is
# given, for that tag. Otherwise RECORD_FILE is left empty. Returns 0 when a record was written.
#
# Why read back: when a function fails (a release rolled back, exit 1), `dagger call` prints nothing on stdout; the
# function's output appears only inside the error on stderr (Dagger 0.21's cmd/dagger/functions.go).
read_back_record() {
  local record=$1 since=$2 tag=${3:-} history found=1
  history=$(mktemp)
  # shellcheck disable=SC2016 # jq's $variables, not the shell's
  local this_run='.[0] | select(($tag == "" or .tag == $tag) and ((.ciRun // "") | endswith("(" + $run + ")"))
    and ((.startedAt | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) >= $since))'
  if production_call history --json --limit 1 >"${history}" &&
    jq -e --arg tag "${tag}" --arg run "$(production_run_url)" --argjson since "${since}" "${this_run}" "${history}" >"${record}.tmp" &&
    [[ -s "${record}.tmp" ]]; then
    mv "${record}.tmp" "${record}"
    found=0
  else
    rm -f "${record}.tmp"
    : >"${record}"
  fi
  rm -f "${history}"
  return "${found}"
}
