#!/usr/bin/env bash
# `npm start`: the local stack (started if it is not running), then the platform's processes in
# this terminal with prefixed logs: producer, 2 processors (bridge + worker each, eager starts),
# GraphQL; `START_LAYOUT=separate npm start` runs 2 bridges and 2 workers instead. Ctrl-C stops
# these processes (each drains first); the stack keeps running until `npm run stack:down`.
set -euo pipefail
LOG_PREFIX=start
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

bash infra/stack.sh up
# The platform's processes (and concurrently, which starts them) run on this Node.
use_node_runtime || die "no Node.js $NODE_MAJOR_REQUIRED+ after install"
log "node $(node -v) ($NODE_BIN)"
[ -f .env ] && { set -a; source .env; set +a; log "loaded .env"; }

run() { echo "node --import tsx $1"; }
# Two bridges (in processors or alone), two health ports: BRIDGE_HTTP_PORT and the next one (0 = any free port for both).
bridge_port=${BRIDGE_HTTP_PORT:-8002}
second_bridge_port=$(( bridge_port == 0 ? 0 : bridge_port + 1 ))
# Two workers (in processors or alone), two Temporal SDK metrics ports likewise (0 = off for both).
worker_metrics_port=${WORKER_METRICS_PORT:-9464}
second_worker_metrics_port=$(( worker_metrics_port == 0 ? 0 : worker_metrics_port + 1 ))
cat >&2 <<MSG

  Producer   http://localhost:${PRODUCER_PORT:-8000}/events
  GraphiQL   http://localhost:${GRAPHQL_PORT:-8001}/graphiql
  Bridges    http://localhost:$bridge_port/ready  http://localhost:$second_bridge_port/ready  (and /metrics)
  Metrics    producer :${PRODUCER_PORT:-8000}, GraphQL :${GRAPHQL_PORT:-8001}, bridges :$bridge_port :$second_bridge_port,
             workers (Temporal SDK) :$worker_metrics_port :$second_worker_metrics_port  (GET /metrics; infra/prometheus/prometheus.yml)
  Web UI     http://localhost:$TEMPORAL_UI_PORT

MSG
# JSON logs (what production wants) made readable for a terminal; LOG_FORMAT=json keeps them raw.
pretty() { if [ "${LOG_FORMAT:-pretty}" = json ]; then cat; else node infra/pretty-logs.mjs; fi; }
case "${START_LAYOUT:-processors}" in
  # On 2 cores, two processors: each bridge's starts go eagerly to the worker beside it.
  processors)
    node_modules/.bin/concurrently --kill-others-on-fail --kill-signal SIGTERM --prefix "[{name}]" \
      --names producer,processor-1,processor-2,graphql \
      --prefix-colors cyan,magenta,magenta,green \
      "$(run src/producer/server.ts)" \
      "BRIDGE_HTTP_PORT=$bridge_port WORKER_METRICS_PORT=$worker_metrics_port $(run workers/processor.ts)" \
      "BRIDGE_HTTP_PORT=$second_bridge_port WORKER_METRICS_PORT=$second_worker_metrics_port $(run workers/processor.ts)" \
      "$(run src/graphql/server.ts)" | pretty ;;
  separate)
    node_modules/.bin/concurrently --kill-others-on-fail --kill-signal SIGTERM --prefix "[{name}]" \
      --names producer,bridge-1,bridge-2,worker-1,worker-2,graphql \
      --prefix-colors cyan,magenta,magenta,yellow,yellow,green \
      "$(run src/producer/server.ts)" \
      "BRIDGE_HTTP_PORT=$bridge_port $(run src/bridge/main.ts)" \
      "BRIDGE_HTTP_PORT=$second_bridge_port $(run src/bridge/main.ts)" \
      "WORKER_METRICS_PORT=$worker_metrics_port $(run workers/main.ts)" \
      "WORKER_METRICS_PORT=$second_worker_metrics_port $(run workers/main.ts)" \
      "$(run src/graphql/server.ts)" | pretty ;;
  *) die "START_LAYOUT must be processors or separate, got ${START_LAYOUT}" ;;
esac
