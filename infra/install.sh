#!/usr/bin/env bash
# Installs every local-stack server that is missing, pinned, into the cache folder.
# Sources: the Go module proxy (Temporal CLI, versitygw), Maven Central (Kafka), npm (dynalite).
# Safe to run again: what is installed is skipped in milliseconds.
set -euo pipefail
LOG_PREFIX=install
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

go_install() { # go_install PKG@VERSION DEST_DIR
  need go "Install Go 1.22+ (Debian: apt-get install golang, or https://go.dev/doc/install)."
  mkdir -p "$2"
  # GOTOOLCHAIN=local: never download a toolchain; CGO off: static binaries, no C compiler needed.
  GOBIN="$2" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install "$1"
}

if [ ! -x "$TEMPORAL_BIN" ]; then
  with_progress "temporal-cli-$TEMPORAL_CLI_VERSION" go_install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" "$(dirname "$TEMPORAL_BIN")"
fi

if [ ! -x "$VERSITYGW_BIN" ]; then
  with_progress "versitygw-$VERSITYGW_VERSION" go_install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" "$(dirname "$VERSITYGW_BIN")"
fi

if [ ! -f "$KAFKA_LIBS/.complete" ]; then
  need java "Install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)."
  need mvn "Install Maven 3.6+ (Debian: apt-get install maven)."
  kafka_libs() {
    rm -rf "$KAFKA_LIBS"
    mvn -B -q -f "$REPO_ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  }
  with_progress "kafka-$KAFKA_VERSION" kafka_libs
fi

if [ ! -f "$DYNALITE_CLI" ]; then
  need npm "Install Node.js 20.3+ with npm."
  dynalite() {
    mkdir -p "$DYNALITE_DIR"
    echo '{"private":true}' >"$DYNALITE_DIR/package.json"
    npm install --prefix "$DYNALITE_DIR" --no-audit --no-fund --omit=dev "dynalite@$DYNALITE_VERSION"
  }
  with_progress "dynalite-$DYNALITE_VERSION" dynalite
fi

if [ ! -d "$REPO_ROOT/node_modules" ] || [ "$REPO_ROOT/package-lock.json" -nt "$REPO_ROOT/node_modules/.package-lock.json" ]; then
  need npm "Install Node.js 20.3+ with npm."
  with_progress "node_modules" npm ci --prefix "$REPO_ROOT" --no-audit --no-fund
fi
