#!/usr/bin/env bash
# Installs every local-stack server that is missing, pinned, into the cache folder.
# Sources: the Go module proxy (Temporal CLI, versitygw), Maven Central (Kafka), npm (dynalite, and
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

# `install.sh node` installs only the Node runtime (infra/bin/node uses it).
only_node=$([ "${1:-}" = node ] && echo 1 || true)

# Prerequisites first, so a missing tool is reported before anything starts.
if [ -z "$only_node" ]; then
  { [ -x "$TEMPORAL_BIN" ] && [ -x "$VERSITYGW_BIN" ]; } || check_go
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

if [ ! -f "$DYNALITE_CLI" ]; then
  dynalite() {
    mkdir -p "$DYNALITE_DIR"
    echo '{"private":true}' >"$DYNALITE_DIR/package.json"
    npm install --prefix "$DYNALITE_DIR" --no-audit --no-fund --omit=dev "dynalite@$DYNALITE_VERSION"
  }
  with_progress "dynalite-$DYNALITE_VERSION" dynalite
fi

if [ ! -d "$REPO_ROOT/node_modules" ] || [ "$REPO_ROOT/package-lock.json" -nt "$REPO_ROOT/node_modules/.package-lock.json" ]; then
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
