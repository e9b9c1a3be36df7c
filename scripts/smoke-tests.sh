#!/usr/bin/env bash
# Smoke-test a deployment with release-gate's suite, for humans and for CI systems other than Dagger's.
#
#   scripts/smoke-tests.sh URL [--canary] [--json]      (options before or after the URL)
#
# Runs the CLI with this repository's own Node install when there is one (after `npm ci`), otherwise through
# Dagger (`dagger call smoke`). RELEASE_GATE_RUNNER=node|dagger picks one explicitly. The bearer token is read
# from SMOKE_TEST_TOKEN, never from the command line. The exit code is the suite's, through either runner:
# 0 all checks passed, 1 a check failed, 2 bad usage or input (nothing sent). `dagger call` exits with the CLI's
# own exit code (docs/dagger.md), so a refusal is 2 there too; only Dagger's own failures (no engine, the module
# not loading) are dagger's exit code, 1.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/smoke-tests.sh URL [--canary] [--json]   (options before or after the URL)
  URL       base URL, http:// or https:// (e.g. https://app.qualisys.io)
  --canary  send the canary-routing header (X-Canary: always) to test the canary directly
  --json    print the report as JSON
environment: SMOKE_TEST_TOKEN (bearer token), RELEASE_GATE_RUNNER=node|dagger
exit codes (through Node or Dagger alike): 0 all checks passed, 1 a check failed, 2 bad usage or input (nothing sent)
USAGE
}

die() {
  printf 'smoke-tests.sh: %s\n' "$1" >&2
  exit 2
}

# Help wins wherever it is, even next to a mistake.
for arg in "$@"; do
  if [[ ${arg} == "-h" || ${arg} == "--help" ]]; then
    usage
    exit 0
  fi
done

# Options and the URL in any order.
url=
have_url=false
canary=false
json=false
for arg in "$@"; do
  case ${arg} in
    --canary) canary=true ;;
    --json) json=true ;;
    -*) die "unknown option '${arg}' (see --help)" ;;
    *)
      if ${have_url}; then die "unexpected argument '${arg}': give one URL (see --help)"; fi
      [[ -n ${arg} ]] || die "the URL is empty (see --help)"
      url=${arg}
      have_url=true
      ;;
  esac
done
if ! ${have_url}; then
  printf 'smoke-tests.sh: missing the URL to test\n' >&2
  usage >&2
  exit 2
fi

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
# The repo pins Node 24 as an npm package; the machine's own node may be older than the CLI needs.
node_bin="${root}/node_modules/.bin/node"

runner=${RELEASE_GATE_RUNNER:-}
if [[ -z ${runner} ]]; then
  if [[ -x ${node_bin} ]]; then
    runner=node
  elif command -v dagger >/dev/null 2>&1; then
    runner=dagger
  else
    die "no way to run the suite: run 'npm ci' in ${root}, or install the dagger CLI"
  fi
fi

case ${runner} in
  node)
    [[ -x ${node_bin} ]] || die "${node_bin} not found: run 'npm ci' in ${root} first"
    args=(smoke --url "${url}")
    if ${canary}; then args+=(--canary); fi
    if ${json}; then args+=(--json); fi
    exec "${node_bin}" "${root}/bin/release-gate.js" "${args[@]}"
    ;;
  dagger)
    command -v dagger >/dev/null 2>&1 || die "dagger CLI not found on PATH"
    args=(call -m "${root}" smoke --url "${url}")
    # Dagger reads the variable itself: the token's value never appears in this process's arguments.
    if [[ -n ${SMOKE_TEST_TOKEN:-} ]]; then args+=(--token env://SMOKE_TEST_TOKEN); fi
    if ${canary}; then args+=(--canary); fi
    if ${json}; then args+=(--json); fi
    exec dagger "${args[@]}"
    ;;
  *)
    die "RELEASE_GATE_RUNNER must be node or dagger, got '${runner}'"
    ;;
esac
