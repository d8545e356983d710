#!/usr/bin/env bash
# The local stack: real Temporal, Kafka, DynamoDB-API (dynalite) and S3 (versitygw) servers on
# 127.0.0.1, no Docker needed. STACK_PROFILE=cluster runs 3 Kafka brokers and a Temporal server on
# PostgreSQL with its Web UI instead (docs/cluster.md).
#
#   infra/stack.sh up            install what is missing, start what is stopped, create topics/table/bucket
#   infra/stack.sh down [--wipe] stop what `up` started (by PID, either profile); --wipe also deletes the data
#   infra/stack.sh status        health of each service
#   infra/stack.sh stop|start S  one service or group, for failure tests: temporal|kafka|dynamodb|s3, and
#                                with the cluster profile kafka-1|kafka-2|kafka-3 (kafka is all three),
#                                postgres, temporal-ui
#   infra/stack.sh kill S        the same services, killed with SIGKILL (a crash, not a shutdown)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read_kv() { grep -vE '^\s*(#|$)' "$1"; }

# The profile's services a name stands for: kafka is every broker, a service is itself.
members() {
  if [ "$1" = kafka ]; then echo "${KAFKA_SERVICES[@]}"; return; fi
  local svc
  for svc in "${SERVICES[@]}"; do [ "$svc" = "$1" ] && { echo "$1"; return; }; done
  local names="${SERVICES[*]}"
  [[ " $names " == *" kafka "* ]] || names="kafka (every broker) $names"
  die "unknown service '$1': with STACK_PROFILE=$STACK_PROFILE it is one of $names"
}

# A broker's own directory (its node id and ports: kafka_node, kafka_port in lib.sh).
kafka_dir() { echo "$STACK_DIR/$1"; }

# PostgreSQL refuses to run as root: there, its programs run as the postgres user.
AS_PG=()
[ "$(id -u)" != 0 ] || AS_PG=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
PG_DATA="$STACK_DIR/postgres/data"

start_cmd() { # prints nothing; sets CMD array for a service
  case "$1" in
    temporal)
      if [ "$STACK_PROFILE" = cluster ]; then
        CMD=("$TEMPORAL_SERVER_BIN" --root "$STACK_DIR/temporal-server" --config config --env development --allow-no-auth start)
        return
      fi
      CMD=("$TEMPORAL_BIN" server start-dev --ip "$BIND_IP" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
        --db-filename "$STACK_DIR/temporal/temporal.db" --namespace default
        # WAL without a sync per commit: survives a process crash (not a power cut), and lifts the
        # dev server from ~140 to ~330 workflow starts/s on 2 cores (npm run bench).
        --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal)
      while IFS= read -r kv; do CMD+=(--search-attribute "$kv"); done < <(read_kv "$REPO_ROOT/temporal-config/search-attributes.env")
      while IFS= read -r kv; do CMD+=(--dynamic-config-value "$kv"); done < <(read_kv "$REPO_ROOT/temporal-config/dynamic-config.env")
      ;;
    temporal-ui)
      CMD=("$TEMPORAL_UI_BIN" --root "$STACK_DIR/temporal-ui" --config config --env development start)
      ;;
    postgres)
      # TCP on loopback only, no Unix socket (the system's socket directory belongs to its service).
      # Small buffers: Temporal's tables of a local run fit in a few MB.
      CMD=("${AS_PG[@]}" "$PG_BIN/postgres" -D "$PG_DATA" -p "$POSTGRES_PORT" -c "listen_addresses=$BIND_IP"
        -c unix_socket_directories= -c shared_buffers=32MB -c max_connections=100)
      ;;
    kafka | kafka-*)
      CMD=(java "${KAFKA_HEAP[@]}" -XX:+UseG1GC -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$REPO_ROOT/infra/kafka/log4j2.yaml" -cp "$KAFKA_LIBS/*"
        kafka.Kafka "$(kafka_dir "$1")/server.properties")
      ;;
    dynamodb)
      CMD=(node "$DYNALITE_CLI" --host "$BIND_IP" --port "$DYNAMODB_PORT" --path "$STACK_DIR/dynamodb"
        --createTableMs 0 --deleteTableMs 0 --updateTableMs 0)
      ;;
    s3)
      CMD=("$VERSITYGW_BIN" --access "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" --region us-east-1
        --port "$BIND_IP:$S3_PORT" posix --sidecar "$STACK_DIR/s3/meta" "$STACK_DIR/s3/objects")
      ;;
  esac
}

service_port() {
  case "$1" in
    temporal) echo $TEMPORAL_PORT ;; temporal-ui) echo $TEMPORAL_UI_PORT ;; postgres) echo $POSTGRES_PORT ;;
    kafka | kafka-*) kafka_port "$1" ;;
    dynamodb) echo $DYNAMODB_PORT ;; s3) echo $S3_PORT ;;
  esac
}

# Ready to serve: the port is open; PostgreSQL also answers (it listens while still recovering).
service_ready() {
  port_open "$(service_port "$1")" || return 1
  [ "$1" != postgres ] || "$PG_BIN/pg_isready" -q -h "$BIND_IP" -p "$POSTGRES_PORT"
}

# A private CA with a broker certificate (localhost, 127.0.0.1) and a client certificate, for
# Kafka's TLS listeners; made once, kept with the stack's data.
make_kafka_tls() {
  [ -f "$KAFKA_TLS_DIR/broker-keystore.pem" ] && return 0
  need openssl "Install OpenSSL (Debian: apt-get install openssl)."
  local dir="$KAFKA_TLS_DIR.tmp" n
  rm -rf "$dir"; mkdir -p "$dir"
  ( cd "$dir"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -days 3650 -subj /CN=event-platform-local-ca -keyout ca.key -out ca.pem
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >broker.ext
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    for n in broker client; do
      openssl req "${ec[@]}" -subj "/CN=$n" -keyout "$n.key" -out "$n.csr"
      openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile "$n.ext" -out "$n.pem"
    done
    cat broker.key broker.pem >broker-keystore.pem
  ) >"$STACK_DIR/logs/kafka-tls.log" 2>&1 || { cat "$STACK_DIR/logs/kafka-tls.log" >&2; die "making Kafka's TLS certificates failed"; }
  mv "$dir" "$KAFKA_TLS_DIR"
}

# The SCRAM user of the SASL_SSL listener; stored in the cluster metadata, so once per data dir.
kafka_scram_user() {
  local marker
  marker="$(kafka_dir "${KAFKA_SERVICES[0]}")/data/.scram-user-$KAFKA_SCRAM_USER"
  [ -f "$marker" ] && return 0
  java -cp "$KAFKA_LIBS/*" "-Dlog4j2.configurationFile=$REPO_ROOT/infra/kafka/log4j2-tools.yaml" \
    org.apache.kafka.tools.ConfigCommand --bootstrap-server "$BIND_IP:$KAFKA_PORT" --alter \
    --add-config "SCRAM-SHA-512=[password=$KAFKA_SCRAM_PASSWORD]" --entity-type users --entity-name "$KAFKA_SCRAM_USER" \
    >"$STACK_DIR/logs/kafka-scram.log" 2>&1 || { cat "$STACK_DIR/logs/kafka-scram.log" >&2; die "setting Kafka's SCRAM user failed"; }
  touch "$marker"
  log "Kafka SCRAM user $KAFKA_SCRAM_USER ready"
}

# One broker's server.properties from the shared template. Every broker of a profile has the same
# controller quorum (all of them), and up to 3 replicas with all but one needed in sync.
render_kafka_properties() {
  local svc=$1 n off voters='' v brokers=${#KAFKA_SERVICES[@]} replicas min_isr
  n=$(kafka_node "$svc"); off=$(kafka_port_offset "$svc")
  for v in "${KAFKA_SERVICES[@]}"; do
    voters+="${voters:+,}$(kafka_node "$v")@$BIND_IP:$(( KAFKA_CONTROLLER_PORT + $(kafka_port_offset "$v") ))"
  done
  replicas=$(( brokers < 3 ? brokers : 3 ))
  min_isr=$(( replicas > 1 ? replicas - 1 : 1 ))
  sed -e "s|@NODE_ID@|$n|" -e "s|@VOTERS@|$voters|" -e "s|@PORT@|$(kafka_port "$svc")|g" \
    -e "s|@CONTROLLER_PORT@|$(( KAFKA_CONTROLLER_PORT + off ))|g" -e "s|@TLS_PORT@|$(( KAFKA_TLS_PORT + off ))|g" \
    -e "s|@SASL_PORT@|$(( KAFKA_SASL_PORT + off ))|g" -e "s|@REPLICAS@|$replicas|g" -e "s|@MIN_ISR@|$min_isr|g" \
    -e "s|@DATA_DIR@|$(kafka_dir "$svc")/data|" -e "s|@TLS_DIR@|$KAFKA_TLS_DIR|g" \
    "$REPO_ROOT/infra/kafka/server.properties" >"$(kafka_dir "$svc")/server.properties"
}

# The cluster's id: one for every broker, made when the first is formatted.
kafka_cluster_id() {
  local f="$STACK_DIR/kafka/cluster-id"
  if [ ! -f "$f" ]; then
    # 16 random bytes, base64url: may start with '-', hence --cluster-id=VALUE below.
    node -e 'process.stdout.write(require("crypto").randomBytes(16).toString("base64url"))' >"$f.tmp"
    mv "$f.tmp" "$f"
  fi
  cat "$f"
}

prepare_kafka() {
  local svc=$1 dir
  dir=$(kafka_dir "$svc")
  mkdir -p "$dir/data" "$STACK_DIR/kafka"
  make_kafka_tls
  render_kafka_properties "$svc"
  [ -f "$dir/data/meta.properties" ] && return 0
  java -cp "$KAFKA_LIBS/*" "-Dlog4j2.configurationFile=$REPO_ROOT/infra/kafka/log4j2.yaml" \
    kafka.tools.StorageTool format --cluster-id="$(kafka_cluster_id)" --config "$dir/server.properties" \
    >"$STACK_DIR/logs/$svc-format.log" 2>&1 || { cat "$STACK_DIR/logs/$svc-format.log" >&2; die "formatting $svc storage failed"; }
}

prepare_postgres() {
  mkdir -p "$STACK_DIR/postgres"
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  rm -rf "$PG_DATA"; mkdir -p "$PG_DATA"
  [ "$(id -u)" != 0 ] || chown postgres: "$PG_DATA"
  # Superuser temporal, trusted on loopback: the stack binds 127.0.0.1 only, like its other servers.
  "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U temporal -A trust -E UTF8 --locale=C.UTF-8 \
    >"$STACK_DIR/logs/postgres-initdb.log" 2>&1 || { cat "$STACK_DIR/logs/postgres-initdb.log" >&2; die "initdb failed"; }
}

# Temporal's databases and schema, with the server's own SQL tool and the schema it embeds;
# update-schema applies only what the database lacks, so a newer server version upgrades it.
temporal_schema() {
  local marker="$STACK_DIR/postgres/temporal-schema-version" db logf="$STACK_DIR/logs/temporal-schema.log"
  [ "$(cat "$marker" 2>/dev/null)" = "$TEMPORAL_SERVER_VERSION" ] && return 0
  local sql=("$TEMPORAL_SQL_TOOL_BIN" --plugin postgres12 --endpoint "$BIND_IP" --port "$POSTGRES_PORT" --user temporal --password '')
  : >"$logf"
  for db in temporal temporal_visibility; do
    local schema=postgresql/v12/${db#temporal_}  # temporal, visibility
    { "${sql[@]}" --db "$db" create-database >>"$logf" 2>&1 || grep -q 'already exists' "$logf"; } &&
      "${sql[@]}" --db "$db" setup-schema -v 0.0 >>"$logf" 2>&1 &&
      "${sql[@]}" --db "$db" update-schema --schema-name "$schema" >>"$logf" 2>&1 ||
      { cat "$logf" >&2; die "setting up Temporal's schema in $db failed (log: $STACK_LOGS/temporal-schema.log)"; }
  done
  echo "$TEMPORAL_SERVER_VERSION" >"$marker"
  log "Temporal schema ready in PostgreSQL (databases temporal, temporal_visibility)"
}

# The server's config and its dynamic config: the dev server's own values, then the project's
# (temporal-config/dynamic-config.env, KEY=VALUE with YAML values), as the dev server gets them.
prepare_temporal_server() {
  local dir="$STACK_DIR/temporal-server" key value
  mkdir -p "$dir/config"
  { cat "$REPO_ROOT/infra/temporal/dynamic-config.yaml"
    while IFS='=' read -r key value; do printf '%s:\n  - value: %s\n' "$key" "$value"; done < <(read_kv "$REPO_ROOT/temporal-config/dynamic-config.env")
  } >"$dir/dynamic-config.yaml"
  sed -e "s|@BIND_IP@|$BIND_IP|g" -e "s|@POSTGRES_PORT@|$POSTGRES_PORT|g" -e "s|@TEMPORAL_PORT@|$TEMPORAL_PORT|g" \
    -e "s|@TEMPORAL_HTTP_PORT@|$TEMPORAL_HTTP_PORT|g" -e "s|@DYNAMIC_CONFIG@|$dir/dynamic-config.yaml|" \
    "$REPO_ROOT/infra/temporal/server.yaml" >"$dir/config/development.yaml"
  # The server exits at once when its database does not answer (its schema version check), and
  # PostgreSQL, started just before by `up`, listens a moment before it accepts connections.
  service_running postgres || die "the Temporal server needs PostgreSQL: infra/stack.sh start postgres"
  wait_ready postgres 60
  temporal_schema
}

prepare_temporal_ui() {
  mkdir -p "$STACK_DIR/temporal-ui/config"
  sed -e "s|@BIND_IP@|$BIND_IP|g" -e "s|@TEMPORAL_PORT@|$TEMPORAL_PORT|g" -e "s|@TEMPORAL_UI_PORT@|$TEMPORAL_UI_PORT|g" \
    "$REPO_ROOT/infra/temporal/ui.yaml" >"$STACK_DIR/temporal-ui/config/development.yaml"
}

prepare() {
  mkdir -p "$STACK_DIR"/{pids,logs}
  case "$1" in
    kafka | kafka-*) prepare_kafka "$1" ;;
    temporal) if [ "$STACK_PROFILE" = cluster ]; then prepare_temporal_server; else mkdir -p "$STACK_DIR/temporal"; fi ;;
    temporal-ui) prepare_temporal_ui ;;
    postgres) prepare_postgres ;;
    dynamodb) mkdir -p "$STACK_DIR/dynamodb" ;;
    s3) mkdir -p "$STACK_DIR"/s3/{meta,objects} ;;
  esac
}

# A service of the other profile that runs from this stack directory (a pid file whose process lives).
other_profile_running() {
  local f svc
  for f in "$STACK_DIR"/pids/*.pid; do
    [ -f "$f" ] || continue
    svc=$(basename "$f" .pid)
    [[ " ${SERVICES[*]} " == *" $svc "* ]] && continue
    service_running "$svc" && { echo "$svc"; return 0; }
  done
  return 1
}

close_inherited_fds() {
  local fd
  for fd in /dev/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

start_service() {
  local svc=$1 port other
  port=$(service_port "$svc")
  if service_running "$svc"; then log "$svc already running (pid $(service_pid "$svc"))"; return 0; fi
  if port_open "$port"; then
    if other=$(other_profile_running); then
      die "port $port ($svc) is taken: $other of the other stack profile is running; stop that stack first (infra/stack.sh down)"
    fi
    die "port $port ($svc) is already taken by another process; stop it or free the port (ss -ltnp 'sport = :$port')"
  fi
  prepare "$svc"
  start_cmd "$svc"
  # setsid: the servers outlive the shell that started them and ignore its Ctrl-C. They keep no
  # descriptor of the caller's but stdio: one inherited from `flock FILE infra/stack.sh up`
  # would hold that lock for as long as the servers run.
  (close_inherited_fds && exec setsid "${CMD[@]}") >>"$STACK_DIR/logs/$svc.log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$svc")"
  log "started $svc (pid $!, log $STACK_LOGS/$svc.log)"
}

wait_ready() { # wait_ready SVC SECONDS
  local svc=$1 deadline=$(( $(date +%s) + $2 ))
  until service_ready "$svc"; do
    service_running "$svc" || { tail -n 40 "$STACK_DIR/logs/$svc.log" >&2; die "$svc exited during startup (log above: $STACK_LOGS/$svc.log)"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "$svc did not open port $(service_port "$svc") within $2s (see $STACK_LOGS/$svc.log)"
    sleep 0.2
  done
}

stop_service() {
  local svc=$1 pid sig=TERM
  # PostgreSQL's TERM waits for every client to disconnect; INT is its fast shutdown (still clean).
  [ "$svc" = postgres ] && sig=INT
  pid=$(service_pid "$svc" || true)
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$svc did not stop in 15s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $svc (pid $pid)"
  fi
  rm -f "$(pid_file "$svc")"
}

# The full server, unlike the dev server, starts with no namespace: `default`, with the dev
# server's 24 h retention and search attributes. Retried while the server's services find each other.
temporal_namespace() {
  local deadline=$(( $(date +%s) + 120 )) logf="$STACK_DIR/logs/temporal-namespace.log"
  local cli=("$TEMPORAL_BIN" operator namespace --address "$BIND_IP:$TEMPORAL_PORT")
  until "${cli[@]}" describe --namespace default >"$logf" 2>&1; do
    "${cli[@]}" create --namespace default --retention 24h >>"$logf" 2>&1 && log "Temporal namespace default created"
    [ "$(date +%s)" -lt "$deadline" ] || { cat "$logf" >&2; die "Temporal namespace default could not be created within 120s"; }
    sleep 1
  done
  # The dev server's search attributes (temporal-config/search-attributes.env). Retried: a namespace
  # just created is refused by the services whose namespace cache has not refreshed yet.
  local name type out
  while IFS='=' read -r name type; do
    until out=$("$TEMPORAL_BIN" operator search-attribute create --address "$BIND_IP:$TEMPORAL_PORT" --namespace default \
      --name "$name" --type "$type" 2>&1 </dev/null) || grep -qi 'already' <<<"$out"; do
      [ "$(date +%s)" -lt "$deadline" ] || { echo "$out" >&2; die "Temporal search attribute $name could not be registered within 120s"; }
      sleep 1
    done
  done < <(read_kv "$REPO_ROOT/temporal-config/search-attributes.env")
}

provision() {
  # Real readiness (each server answers its own API through the platform's clients), then the
  # topics, table, bucket and namespace; idempotent.
  node --import tsx "$REPO_ROOT/infra/provision.ts"
}

cmd_up() {
  local t=$(date +%s)
  bash "$REPO_ROOT/infra/install.sh"
  use_node_runtime  # dynalite and provisioning run on the Node that install.sh may have just installed
  for svc in "${SERVICES[@]}"; do start_service "$svc"; done
  for svc in "${SERVICES[@]}"; do wait_ready "$svc" 120; done
  kafka_scram_user
  [ "$STACK_PROFILE" = default ] || temporal_namespace
  provision
  log "stack up in $(( $(date +%s) - t ))s"
  if [ "$STACK_PROFILE" = cluster ]; then
    cat >&2 <<MSG

  Temporal Web UI   http://localhost:$TEMPORAL_UI_PORT
  Temporal gRPC     localhost:$TEMPORAL_PORT        (server $TEMPORAL_SERVER_VERSION on PostgreSQL; infra/bin/temporal workflow list)
  PostgreSQL        localhost:$POSTGRES_PORT        (user temporal; databases temporal, temporal_visibility)
  Kafka             $KAFKA_BOOTSTRAP_SERVERS   (${#KAFKA_SERVICES[@]} brokers: ${KAFKA_SERVICES[*]})
  DynamoDB API      http://localhost:$DYNAMODB_PORT
  S3 API            http://localhost:$S3_PORT   (access key $S3_ACCESS_KEY, secret $S3_SECRET_KEY)
  Logs, data        $STACK_DIR

MSG
    return
  fi
  cat >&2 <<MSG

  Temporal Web UI   http://localhost:$TEMPORAL_UI_PORT
  Temporal gRPC     localhost:$TEMPORAL_PORT        (infra/bin/temporal workflow list)
  Kafka             localhost:$KAFKA_PORT        (infra/bin/kafka-console-consumer --topic events.raw --from-beginning)
  DynamoDB API      http://localhost:$DYNAMODB_PORT
  S3 API            http://localhost:$S3_PORT   (access key $S3_ACCESS_KEY, secret $S3_SECRET_KEY)
  Logs, data        $STACK_DIR

MSG
}

cmd_down() {
  # Whatever runs from this stack directory, of either profile; in parallel: each server takes a
  # few seconds to shut down cleanly.
  local f
  for f in "$STACK_DIR"/pids/*.pid; do [ -f "$f" ] && stop_service "$(basename "$f" .pid)" & done
  wait
  if [ "${1:-}" = --wipe ]; then rm -rf "$STACK_DIR"; log "wiped $STACK_DIR"; fi
}

cmd_status() {
  local bad=0 other
  for svc in "${SERVICES[@]}"; do
    local state="stopped"
    if service_running "$svc"; then
      state="running (pid $(service_pid "$svc"))"
      service_ready "$svc" || { state="$state, port $(service_port "$svc") not open"; bad=1; }
    else
      bad=1
      port_open "$(service_port "$svc")" && state="port $(service_port "$svc") served by a process this stack did not start"
    fi
    printf '  %-11s %-5s %s\n' "$svc" "$(service_port "$svc")" "$state"
  done
  if other=$(other_profile_running); then printf '  (%s of the other stack profile is running from %s)\n' "$other" "$STACK_DIR"; fi
  if [ $bad = 0 ]; then node --import tsx "$REPO_ROOT/infra/provision.ts" --check; fi
  return $bad
}

# start/stop name a service or a group (kafka: every broker of the profile), started together.
cmd_start() {
  local list svcs svc
  list=$(members "$1") || exit 1
  read -ra svcs <<<"$list"
  for svc in "${svcs[@]}"; do start_service "$svc"; done
  for svc in "${svcs[@]}"; do wait_ready "$svc" 120; done
}

cmd_stop() {
  local list svcs svc
  list=$(members "$1") || exit 1
  read -ra svcs <<<"$list"
  for svc in "${svcs[@]}"; do stop_service "$svc" & done
  wait
}

# A crash: SIGKILL, no shutdown hooks, whatever was unflushed is lost as in a power cut.
cmd_kill() {
  local list svcs svc pid
  list=$(members "$1") || exit 1
  read -ra svcs <<<"$list"
  for svc in "${svcs[@]}"; do
    pid=$(service_pid "$svc" || true)
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      log "killed $svc (pid $pid)"
    fi
    rm -f "$(pid_file "$svc")"
  done
}

# Sourced (by test/unit/stack-profile.test.ts), it only defines the functions above.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  start) [ -n "${2:-}" ] || { echo "usage: $0 start SERVICE" >&2; exit 2; }; cmd_start "$2" ;;
  stop) [ -n "${2:-}" ] || { echo "usage: $0 stop SERVICE" >&2; exit 2; }; cmd_stop "$2" ;;
  kill) [ -n "${2:-}" ] || { echo "usage: $0 kill SERVICE" >&2; exit 2; }; cmd_kill "$2" ;;
  *) echo "usage: $0 up | down [--wipe] | status | start SERVICE | stop SERVICE | kill SERVICE" >&2; exit 2 ;;
esac
