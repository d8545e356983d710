#!/usr/bin/env bash
# `npm test`: the full suite on a fresh machine or a warm one. Installs what is missing, starts
# the local stack if it is not running, runs typecheck, lint, unit and integration tests, and
# stops the services it started (also when a test fails). Prints how long each phase took.
set -euo pipefail
LOG_PREFIX=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

timings=()
# TEST_SKIP: phases not to run, e.g. TEST_SKIP=faults for a quicker local run (CI runs them all).
phase() { # phase NAME cmd...
  local name=$1 start=$(date +%s) rc=0
  shift
  if [[ " ${TEST_SKIP:-} " == *" $name "* ]]; then
    log "── $name skipped (TEST_SKIP)"
    timings+=("$(printf '%-12s skipped' "$name")")
    return 0
  fi
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
log "node $(node -v) ($NODE_BIN)"
phase stack bash infra/stack.sh up
phase typecheck npm run -s typecheck
phase lint npm run -s lint
mapfile -t unit < <(find test/unit -name '*.test.ts' | sort)
phase unit node --import tsx --test --test-reporter=spec "${unit[@]}"
# Integration files that only use resources of their own (test/support/platform.ts: topics,
# group, table, bucket, task queue, ports; or a private Temporal dev server, or none) run INTEGRATION_CONCURRENCY at a time; the ones that
# stop, freeze or re-up the shared servers run afterwards, one at a time, while nothing else
# runs. A file not listed here counts as one of those.
concurrent=(access bridge-crash bridge-poison bridge-systemic counts exact-numbers graphiql-browser graphql kafka-security
  metrics processor producer-drain production-build replay-dlq retention s3-region segment-sdk smoke subscriptions temporal-tls
  process-event-workflow rerun data-converter workflow-lint)
mapfile -t integration < <(find test/integration -name '*.test.ts' | sort)
together=() alone=()
for f in "${integration[@]}"; do
  name=$(basename "$f" .test.ts)
  if [[ " ${concurrent[*]} " == *" $name "* ]]; then together+=("$f"); else alone+=("$f"); fi
done
phase integration node --import tsx --test --test-concurrency="${INTEGRATION_CONCURRENCY:-2}" --test-reporter=spec "${together[@]}"
phase outages node --import tsx --test --test-concurrency=1 --test-reporter=spec "${alone[@]}"
# Thousands of events through worker, bridge and server faults, audited from the stores.
phase faults npm run -s test:faults
