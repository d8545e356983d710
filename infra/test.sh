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
log "node $(node -v) ($NODE_BIN), stack profile $STACK_PROFILE"
phase stack bash infra/stack.sh up
phase typecheck npm run -s typecheck
phase lint npm run -s lint
mapfile -t unit < <(find test/unit -name '*.test.ts' | sort)
phase unit node --import tsx --test --test-reporter=spec "${unit[@]}"
# Integration files that only use resources of their own (test/support/platform.ts: topics,
# group, table, bucket, task queue, ports; or a private Temporal dev server, or none) run INTEGRATION_CONCURRENCY at a time; the ones that
# stop, freeze or re-up the shared servers run afterwards, one at a time, while nothing else
# runs. A file not listed here counts as one of those; test/unit/test-phases.test.ts checks that
# every name here is a file and that none of them runs infra/stack.sh.
concurrent=(access consumer-crash bridge-poison bridge-systemic counts exact-numbers graphiql-browser graphql kafka-security
  metrics processor producer-drain production-build dlq-retry retention s3-region segment-sdk smoke subscriptions temporal-tls
  process-event-workflow retry data-converter workflow-lint)
mapfile -t integration < <(find test/integration -name '*.test.ts' | sort)
together=() alone=()
for f in "${integration[@]}"; do
  name=$(basename "$f" .test.ts)
  if [[ " ${concurrent[*]} " == *" $name "* ]]; then together+=("$f"); else alone+=("$f"); fi
done
phase integration node --import tsx --test --test-concurrency="${INTEGRATION_CONCURRENCY:-2}" --test-reporter=spec "${together[@]}"
phase outages node --import tsx --test --test-concurrency=1 --test-reporter=spec "${alone[@]}"
# Thousands of events through worker, bridge and server faults, audited from the stores.
# TEST_CLUSTER=1 adds the cluster phase: the fault suite again on 3 brokers and a Temporal server
# on PostgreSQL, with the cluster's own faults (docs/testing.md). The default profile's run then
# leaves out the three timed outages (FAULT_SUITE_SET=short), which the cluster phase runs.
cluster_phase=0
if [ "$STACK_PROFILE" = default ] && [ "${TEST_CLUSTER:-0}" = 1 ]; then cluster_phase=1; fi
fault_set=full
[ $cluster_phase = 0 ] || fault_set=short
phase faults env FAULT_SUITE_SET="${FAULT_SUITE_SET:-$fault_set}" npm run -s test:faults
[ $cluster_phase = 0 ] || phase cluster bash infra/test-cluster.sh
