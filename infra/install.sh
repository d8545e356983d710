#!/usr/bin/env bash
# Installs every local-stack server that is missing, pinned, into the cache folder.
# Sources: the Go module proxy (Temporal CLI, versitygw), Maven Central (Kafka), npm (dynalite).
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

# Prerequisites first, so a missing tool is reported before anything starts.
{ [ -x "$TEMPORAL_BIN" ] && [ -x "$VERSITYGW_BIN" ]; } || check_go
if [ ! -f "$KAFKA_LIBS/.complete" ]; then
  need java "Install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)."
  need mvn "Install Maven 3.6+ (Debian: apt-get install maven)."
fi
need npm "Install Node.js 20.3+ with npm."
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)' ||
  die "Node.js $(node --version) is too old: the Temporal SDK needs 20.3 or newer."

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
