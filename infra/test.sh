#!/usr/bin/env bash
# `npm test`: the full suite on a fresh machine or a warm one. Installs what is missing, starts
# the local stack if it is not running, runs typecheck, lint, unit and integration tests, and
# stops the services it started (also when a test fails). Prints how long each phase took.
# STACK_PROFILE=cluster runs all of it on the cluster profile's stack (docs/cluster.md): the
# services, the platform's configuration (infra/profiles/cluster.env) and the tests that stop a
# service follow the profile.
set -euo pipefail
LOG_PREFIX=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

timings=()
phase() { # phase NAME cmd...
  local name=$1 start=$(date +%s) rc=0
  shift
  log "── $name"
  "$@" || rc=$?
  timings+=("$(printf '%-12s %4ss%s' "$name" "$(( $(date +%s) - start ))" "$([ $rc = 0 ] || echo '  FAILED')")")
  return $rc
}

was_running=()
for svc in "${SERVICES[@]}"; do service_running "$svc" && was_running+=("$svc"); done

finish() {
  local rc=$?
  for svc in "${SERVICES[@]}"; do
    [[ " ${was_running[*]} " == *" $svc "* ]] || bash infra/stack.sh stop "$svc" || true
  done
  printf '\n[test] phase timings (total %ss):\n' "$(( $(date +%s) - _t0 ))" >&2
  for t in "${timings[@]}"; do printf '  %s\n' "$t" >&2; done
  exit $rc
}
trap finish EXIT

phase install bash infra/install.sh
# Everything below (npm, tsc, eslint, the test runner and the processes it spawns) runs on this Node.
use_node_runtime || die "no Node.js $NODE_MAJOR_REQUIRED+ after install"
log "node $(node -v) ($NODE_BIN), stack profile $STACK_PROFILE"
phase stack bash infra/stack.sh up
phase typecheck npm run -s typecheck
phase lint npm run -s lint
mapfile -t unit < <(find test/unit -name '*.test.ts' | sort)
mapfile -t integration < <(find test/integration -name '*.test.ts' | sort)
phase unit node --import tsx --test --test-reporter=spec "${unit[@]}"
# One file at a time: the failure tests stop and start shared servers.
phase integration node --import tsx --test --test-concurrency=1 --test-reporter=spec "${integration[@]}"
# Thousands of events through worker, bridge and server faults, audited from the stores.
phase faults npm run -s test:faults
