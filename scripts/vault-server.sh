#!/usr/bin/env bash
# The real Vault server of the integration tests (BUSL-1.1: used only as a test
# server, never shipped). Built once from the Go module proxy into a cache
# outside the repo, following the recipe of issue 4: download the pinned
# module, drop the replace directives of its api/sdk sub-modules, build.
#   vault-server.sh build         build Vault v1.21.0 if missing (~12 min cold)
#   vault-server.sh start DIR     start `vault server -dev` on 127.0.0.1, print a `source` line
#   vault-server.sh stop DIR      stop it
# The root token is random, written to DIR/root-token (0600), never printed.
set -euo pipefail
NAME=vault-server
. "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
VERSION=v1.21.0
BIN=$CACHE/vault-${VERSION#v}/vault

build() {
  built "$BIN" && return 0
  # One build at a time: a second caller waits for the first and uses its binary.
  exec 9>"$(dirname "$BIN")/.build.lock"
  flock 9
  [ -x "$BIN" ] && return 0
  local work gocache
  work=$(mktemp -d); gocache=$(mktemp -d)
  echo "vault-server: building Vault $VERSION from the module proxy (about 12 min and 4.6 GB, once)" >&2
  local dir
  dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/vault@$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$dir" "$work/src"; chmod -R u+w "$work/src"
  cd "$work/src"
  # The api, api/auth/* and sdk sub-modules are separate modules missing from
  # the zip: use the published versions instead of the local replaces.
  go mod edit $(go mod edit -json | python3 -c '
import json,sys
m=json.load(sys.stdin)
for r in m.get("Replace") or []:
    p=r["Old"]["Path"]
    if p.startswith("github.com/hashicorp/vault/api") or p.startswith("github.com/hashicorp/vault/sdk"):
        print("-dropreplace="+p)
')
  GOFLAGS=-mod=mod GOCACHE="$gocache" CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BIN.tmp" . >&2
  mv "$BIN.tmp" "$BIN"
  cd /; rm -rf "$work" "$gocache"
}

start() {
  local dir=$1; build
  mkdir -p "$dir"; chmod 700 "$dir"
  local port; port=$(freeport)
  umask 077
  randhex 24 > "$dir/root-token"
  VAULT_DEV_ROOT_TOKEN_ID=$(cat "$dir/root-token") nohup "$BIN" server -dev -dev-listen-address="127.0.0.1:$port" -dev-no-store-token > "$dir/log" 2>&1 &
  echo $! > "$dir/pid"
  cat > "$dir/env" <<ENV
export HDW_VAULT_ADDR=http://127.0.0.1:$port
export HDW_VAULT_ROOT_TOKEN_FILE=$dir/root-token
export HDW_VAULT_BIN=$BIN
ENV
  listening "$port" "$dir" vault
}

main "$@"
