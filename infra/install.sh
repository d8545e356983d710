#!/usr/bin/env bash
# Installs every local-stack server that is missing, pinned, into the cache folder.
# Sources: the Go module proxy (Temporal CLI, versitygw; with STACK_PROFILE=cluster the Temporal
# server, its SQL tool and the Web UI server), Maven Central (Kafka), npm (dynalite, and
# Node.js 24 when the system Node is older).
# Safe to run again: what is installed is skipped in milliseconds.
set -euo pipefail
LOG_PREFIX=install
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_go() {
  need go "Install Go 1.25+ (https://go.dev/doc/install)."
  # Both modules declare go 1.25; GOTOOLCHAIN=local means an older Go fails instead of downloading one.
  local v; v=$(go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n1.25\n' "${v%%[-+ ]*}" | sort -V | head -n1)" != 1.25 ]; then
    die "Go $v is too old: the Temporal CLI and versitygw need Go 1.25 or newer (https://go.dev/doc/install)."
  fi
}

go_install() { # go_install PKG@VERSION DEST_DIR
  mkdir -p "$2"
  # GOTOOLCHAIN=local: never download a toolchain; CGO off: static binaries, no C compiler needed.
  GOBIN="$2" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install "$1"
}

# The cluster profile runs the system's PostgreSQL binaries as a stack service (never its service).
check_postgres() {
  local hint="Install PostgreSQL $PG_MAJOR_REQUIRED+ (Debian: apt-get install postgresql; only its binaries are used), or set POSTGRES_BIN_DIR."
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] || die "PostgreSQL not found. $hint"
  local major
  major=$("$PG_BIN/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)[.0-9]*.*/\1/p')
  [ "${major:-0}" -ge "$PG_MAJOR_REQUIRED" ] || die "PostgreSQL ${major:-?} in $PG_BIN is too old: Temporal's postgres12 plugin needs $PG_MAJOR_REQUIRED+. $hint"
  # PostgreSQL refuses to run as root; infra/stack.sh then runs it as the postgres user.
  [ "$(id -u)" != 0 ] || id -u postgres >/dev/null 2>&1 || die "PostgreSQL refuses to run as root and there is no postgres user to run it as (useradd --system postgres)."
}

# `install.sh node` installs only the Node runtime (infra/bin/node uses it).
only_node=$([ "${1:-}" = node ] && echo 1 || true)

# Prerequisites first, so a missing tool is reported before anything starts.
if [ -z "$only_node" ]; then
  { [ -x "$TEMPORAL_BIN" ] && [ -x "$VERSITYGW_BIN" ]; } || check_go
  if [ "$STACK_PROFILE" = cluster ]; then
    { [ -x "$TEMPORAL_SERVER_BIN" ] && [ -x "$TEMPORAL_SQL_TOOL_BIN" ] && [ -x "$TEMPORAL_UI_BIN" ]; } || check_go
    check_postgres
  fi
  if [ ! -f "$KAFKA_LIBS/.complete" ]; then
    need java "Install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)."
    need mvn "Install Maven 3.6+ (Debian: apt-get install maven)."
  fi
  # Kafka's TLS listeners get their certificates at first start (infra/stack.sh).
  [ -f "$KAFKA_TLS_DIR/broker-keystore.pem" ] || need openssl "Install OpenSSL (Debian: apt-get install openssl)."
fi
need npm "Install Node.js (any version with npm; Node $NODE_MAJOR_REQUIRED is installed from npm when the system one is older)."

install_node_runtime() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-aarch64 | Linux-arm64) ;;
    *) die "Node.js $(node --version 2>/dev/null || echo '(none)') is too old: the platform needs Node.js $NODE_MAJOR_REQUIRED+.
  npm carries Node binaries for Linux x64 and arm64 only; on $(uname -s) $(uname -m) install Node.js $NODE_MAJOR_REQUIRED
  yourself (https://nodejs.org, or: brew install node@$NODE_MAJOR_REQUIRED) and run this again." ;;
  esac
  node_runtime() {
    rm -rf "$NODE_RUNTIME_DIR"
    mkdir -p "$NODE_RUNTIME_DIR"
    cp "$REPO_ROOT/infra/node/package.json" "$REPO_ROOT/infra/node/package-lock.json" "$NODE_RUNTIME_DIR/"
    # npm ci: exactly the locked tarball, integrity-checked; only the os/cpu match is installed.
    npm ci --prefix "$NODE_RUNTIME_DIR" --no-audit --no-fund
    "$NODE_RUNTIME_BIN" --version
  }
  with_progress "node-$NODE_RUNTIME_VERSION" node_runtime
}

# Node first: everything below (npm ci included) runs on it.
use_node_runtime || { install_node_runtime && use_node_runtime; } || die "Node.js $NODE_RUNTIME_VERSION did not install (see $CACHE_DIR/logs)"
[ -n "$only_node" ] && exit 0

if [ ! -x "$TEMPORAL_BIN" ]; then
  with_progress "temporal-cli-$TEMPORAL_CLI_VERSION" go_install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" "$(dirname "$TEMPORAL_BIN")"
fi

if [ ! -x "$VERSITYGW_BIN" ]; then
  with_progress "versitygw-$VERSITYGW_VERSION" go_install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" "$(dirname "$VERSITYGW_BIN")"
fi

if [ ! -f "$KAFKA_LIBS/.complete" ]; then
  kafka_libs() {
    rm -rf "$KAFKA_LIBS"
    mvn -B -q -f "$REPO_ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  }
  with_progress "kafka-$KAFKA_VERSION" kafka_libs
fi

if [ "$STACK_PROFILE" = cluster ]; then
  # Both from the server module's go.mod (no replace directives), so `go install` builds them as released.
  if [ ! -x "$TEMPORAL_SERVER_BIN" ] || [ ! -x "$TEMPORAL_SQL_TOOL_BIN" ]; then
    temporal_server() {
      go_install "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" "$(dirname "$TEMPORAL_SERVER_BIN")"
      go_install "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" "$(dirname "$TEMPORAL_SQL_TOOL_BIN")"
    }
    with_progress "temporal-server-$TEMPORAL_SERVER_VERSION" temporal_server
  fi
  if [ ! -x "$TEMPORAL_UI_BIN" ]; then
    with_progress "temporal-ui-$TEMPORAL_UI_VERSION" go_install "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION" "$(dirname "$TEMPORAL_UI_BIN")"
  fi
fi

if [ ! -f "$DYNALITE_CLI" ]; then
  dynalite() {
    mkdir -p "$DYNALITE_DIR"
    echo '{"private":true}' >"$DYNALITE_DIR/package.json"
    npm install --prefix "$DYNALITE_DIR" --no-audit --no-fund --omit=dev "dynalite@$DYNALITE_VERSION"
  }
  with_progress "dynalite-$DYNALITE_VERSION" dynalite
fi

# A node_modules that is a symlink is another checkout's install (a git worktree sharing it):
# npm ci would empty it under that checkout, so it is left alone.
if [ -L "$REPO_ROOT/node_modules" ]; then
  [ -d "$REPO_ROOT/node_modules/" ] || die "node_modules is a symlink to a missing folder ($(readlink "$REPO_ROOT/node_modules"))"
elif [ ! -d "$REPO_ROOT/node_modules" ] || [ "$REPO_ROOT/package-lock.json" -nt "$REPO_ROOT/node_modules/.package-lock.json" ]; then
  with_progress "node_modules" npm ci --prefix "$REPO_ROOT" --no-audit --no-fund
fi

# Headless Chromium for the GraphiQL browser test (test/integration/graphiql-browser.test.ts),
# from the distribution's archive (apt keeps the package in its cache). Not fatal: without it
# that one test is skipped and says why.
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    chromium_pkg() {
      local sudo=''
      [ "$(id -u)" = 0 ] || sudo='sudo -n'
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium ||
        { $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }
    }
    mkdir -p "$CACHE_DIR/logs"
    chromium_pkg >"$CACHE_DIR/logs/chromium.log" 2>&1 && log "chromium installed (/usr/bin/chromium)" ||
      log "chromium: apt-get install failed (see $CACHE_DIR/logs/chromium.log); the GraphiQL browser test will be skipped"
  else
    log "chromium: no apt-get here; install Chromium at /usr/bin/chromium to run the GraphiQL browser test (skipped until then)"
  fi
fi
