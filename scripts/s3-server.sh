#!/usr/bin/env bash
# The real S3-compatible server of the integration tests: versitygw (Apache-2.0),
# built once from the Go module proxy into a cache outside the repo.
#   s3-server.sh build          build versitygw v1.8.0 if missing
#   s3-server.sh start DIR      start it on 127.0.0.1 (posix backend in DIR), print `export` lines
#   s3-server.sh stop DIR       stop it
# Credentials are random, passed to the server by environment, written to DIR/env (0600),
# never on a command line.
set -euo pipefail
NAME=s3-server
. "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
VERSION=v1.8.0
BIN=$CACHE/versitygw-${VERSION#v}/versitygw

build() {
  built "$BIN" && return 0
  local gocache; gocache=$(mktemp -d)
  echo "s3-server: building versitygw $VERSION (about 90 s, once)" >&2
  GOFLAGS= GOCACHE="$gocache" GOBIN="$(dirname "$BIN")" go install "github.com/versity/versitygw/cmd/versitygw@$VERSION" >&2
  rm -rf "$gocache"
}

start() {
  local dir=$1; build
  mkdir -p "$dir/root/hdw-test"; chmod 700 "$dir"
  local port; port=$(freeport)
  local ak sk
  ak=$(randhex 12)
  sk=$(randhex 24)
  umask 077
  cat > "$dir/env" <<ENV
export AWS_ACCESS_KEY_ID=$ak
export AWS_SECRET_ACCESS_KEY=$sk
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_REGION=us-east-1
export HDW_S3_PATH_STYLE=1
export HDW_S3_TEST_BUCKET=hdw-test
ENV
  ROOT_ACCESS_KEY=$ak ROOT_SECRET_KEY=$sk nohup "$BIN" --port "127.0.0.1:$port" posix "$dir/root" > "$dir/log" 2>&1 &
  echo $! > "$dir/pid"
  listening "$port" "$dir" versitygw
}

main "$@"
