#!/usr/bin/env bash
# The cluster phase of `npm test` (docs/testing.md): the same platform on 3 Kafka brokers and a
# Temporal server on PostgreSQL, checked by the cluster stack's own test and by the fault suite
# with the cluster's faults added (a leader broker killed, two brokers down, the Temporal server
# killed, PostgreSQL restarted). The two profiles share ports, so the default stack is stopped
# for the length of this phase and the services that were running are started again after it.
set -euo pipefail
export STACK_PROFILE=cluster
LOG_PREFIX=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

# Services of either profile share pid files by name (temporal, dynamodb, s3); only the default
# profile has a service named kafka, so a running kafka means the default stack is up.
default_running=()
if service_running kafka; then
  for svc in temporal kafka dynamodb s3; do service_running "$svc" && default_running+=("$svc"); done
fi
cluster_was_running=()
if [ ${#default_running[@]} = 0 ]; then
  for svc in "${SERVICES[@]}"; do service_running "$svc" && cluster_was_running+=("$svc"); done
fi

finish() {
  local rc=$? svc
  for svc in "${SERVICES[@]}"; do
    [[ " ${cluster_was_running[*]} " == *" $svc "* ]] || bash infra/stack.sh stop "$svc" || true
  done
  for svc in "${default_running[@]}"; do STACK_PROFILE=default bash infra/stack.sh start "$svc" || rc=1; done
  exit $rc
}
trap finish EXIT

[ ${#default_running[@]} = 0 ] || bash infra/stack.sh down
bash infra/stack.sh up
node --import tsx --test --test-reporter=spec test/integration/cluster-stack.test.ts
npm run -s test:faults
