#!/usr/bin/env bash
# The local stack: real Temporal, Kafka, DynamoDB-API (dynalite) and S3 (versitygw) servers on
# 127.0.0.1, no Docker needed.
#
#   infra/stack.sh up            install what is missing, start what is stopped, create topics/table/bucket
#   infra/stack.sh down [--wipe] stop what `up` started (by PID); --wipe also deletes the data
#   infra/stack.sh status        health of each service
#   infra/stack.sh stop|start S  one service (temporal|kafka|dynamodb|s3), for failure tests
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read_kv() { grep -vE '^\s*(#|$)' "$1"; }

start_cmd() { # prints nothing; sets CMD array for a service
  case "$1" in
    temporal)
      CMD=("$TEMPORAL_BIN" server start-dev --ip "$BIND_IP" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
        --db-filename "$STACK_DIR/temporal/temporal.db" --namespace default
        # WAL without a sync per commit: survives a process crash (not a power cut), and lifts the
        # dev server from ~140 to ~330 workflow starts/s on 2 cores (npm run bench).
        --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal)
      while IFS= read -r kv; do CMD+=(--search-attribute "$kv"); done < <(read_kv "$REPO_ROOT/temporal-config/search-attributes.env")
      while IFS= read -r kv; do CMD+=(--dynamic-config-value "$kv"); done < <(read_kv "$REPO_ROOT/temporal-config/dynamic-config.env")
      ;;
    kafka)
      CMD=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$REPO_ROOT/infra/kafka/log4j2.yaml" -cp "$KAFKA_LIBS/*"
        kafka.Kafka "$STACK_DIR/kafka/server.properties")
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
  case "$1" in temporal) echo $TEMPORAL_PORT ;; kafka) echo $KAFKA_PORT ;; dynamodb) echo $DYNAMODB_PORT ;; s3) echo $S3_PORT ;; esac
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
  local marker="$STACK_DIR/kafka/data/.scram-user-$KAFKA_SCRAM_USER"
  [ -f "$marker" ] && return 0
  java -cp "$KAFKA_LIBS/*" "-Dlog4j2.configurationFile=$REPO_ROOT/infra/kafka/log4j2-tools.yaml" \
    org.apache.kafka.tools.ConfigCommand --bootstrap-server "$BIND_IP:$KAFKA_PORT" --alter \
    --add-config "SCRAM-SHA-512=[password=$KAFKA_SCRAM_PASSWORD]" --entity-type users --entity-name "$KAFKA_SCRAM_USER" \
    >"$STACK_DIR/logs/kafka-scram.log" 2>&1 || { cat "$STACK_DIR/logs/kafka-scram.log" >&2; die "setting Kafka's SCRAM user failed"; }
  touch "$marker"
  log "Kafka SCRAM user $KAFKA_SCRAM_USER ready"
}

prepare() {
  mkdir -p "$STACK_DIR"/{pids,logs,temporal,dynamodb,s3/meta,s3/objects,kafka/data}
  if [ "$1" = kafka ]; then
    make_kafka_tls
    sed -e "s|@DATA_DIR@|$STACK_DIR/kafka/data|" -e "s|@TLS_DIR@|$KAFKA_TLS_DIR|" "$REPO_ROOT/infra/kafka/server.properties" >"$STACK_DIR/kafka/server.properties"
    if [ ! -f "$STACK_DIR/kafka/data/meta.properties" ]; then
      local cluster_id
      # 16 random bytes, base64url: may start with '-', hence --cluster-id=VALUE below.
      cluster_id=$(node -e 'process.stdout.write(require("crypto").randomBytes(16).toString("base64url"))')
      java -cp "$KAFKA_LIBS/*" "-Dlog4j2.configurationFile=$REPO_ROOT/infra/kafka/log4j2.yaml" \
        kafka.tools.StorageTool format --cluster-id="$cluster_id" --config "$STACK_DIR/kafka/server.properties" \
        >"$STACK_DIR/logs/kafka-format.log" 2>&1 || { cat "$STACK_DIR/logs/kafka-format.log" >&2; die "formatting Kafka storage failed"; }
    fi
  fi
}

close_inherited_fds() {
  local fd
  for fd in /dev/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

start_service() {
  local svc=$1 port
  port=$(service_port "$svc")
  if service_running "$svc"; then log "$svc already running (pid $(service_pid "$svc"))"; return 0; fi
  if port_open "$port"; then
    die "port $port ($svc) is already taken by another process; stop it or free the port (ss -ltnp 'sport = :$port')"
  fi
  prepare "$svc"
  start_cmd "$svc"
  # setsid: the servers outlive the shell that started them and ignore its Ctrl-C. They keep no
  # descriptor of the caller's but stdio: one inherited from `flock FILE infra/stack.sh up`
  # would hold that lock for as long as the servers run.
  (close_inherited_fds && exec setsid "${CMD[@]}") >>"$STACK_DIR/logs/$svc.log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$svc")"
  log "started $svc (pid $!, log .stack/logs/$svc.log)"
}

wait_port() { # wait_port SVC SECONDS
  local svc=$1 deadline=$(( $(date +%s) + $2 )) port
  port=$(service_port "$svc")
  until port_open "$port"; do
    service_running "$svc" || { tail -n 40 "$STACK_DIR/logs/$svc.log" >&2; die "$svc exited during startup (log above: .stack/logs/$svc.log)"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "$svc did not open port $port within $2s (see .stack/logs/$svc.log)"
    sleep 0.2
  done
}

stop_service() {
  local svc=$1 pid
  pid=$(service_pid "$svc" || true)
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$svc did not stop in 15s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $svc (pid $pid)"
  fi
  rm -f "$(pid_file "$svc")"
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
  for svc in "${SERVICES[@]}"; do wait_port "$svc" 120; done
  kafka_scram_user
  provision
  log "stack up in $(( $(date +%s) - t ))s"
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
  # In parallel: each server takes a few seconds to shut down cleanly.
  for svc in "${SERVICES[@]}"; do stop_service "$svc" & done
  wait
  if [ "${1:-}" = --wipe ]; then rm -rf "$STACK_DIR"; log "wiped $STACK_DIR"; fi
}

cmd_status() {
  local bad=0
  for svc in "${SERVICES[@]}"; do
    local state="stopped"
    if service_running "$svc"; then
      state="running (pid $(service_pid "$svc"))"
      port_open "$(service_port "$svc")" || { state="$state, port $(service_port "$svc") not open"; bad=1; }
    else
      bad=1
      port_open "$(service_port "$svc")" && state="port $(service_port "$svc") served by a process this stack did not start"
    fi
    printf '  %-9s %-5s %s\n' "$svc" "$(service_port "$svc")" "$state"
  done
  if [ $bad = 0 ]; then node --import tsx "$REPO_ROOT/infra/provision.ts" --check; fi
  return $bad
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  start) start_service "$2"; wait_port "$2" 120 ;;
  stop) stop_service "$2" ;;
  *) echo "usage: $0 up | down [--wipe] | status | start SERVICE | stop SERVICE" >&2; exit 2 ;;
esac
