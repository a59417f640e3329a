# What s3-server.sh and vault-server.sh share (sourced, not run): the cache
# of their binaries, a free port, random secrets, waiting for the server's
# port, stopping it, and their command line. The sourcing script defines
# build and start, and NAME (the prefix of its messages).

# The binaries are built once into this cache, outside the repo.
CACHE=${HDW_CACHE:-$HOME/.cache/hdw}

# built BIN: true when BIN is already built; else make its folder, false.
built() {
  [ -x "$1" ] && return 0
  mkdir -p "$(dirname "$1")"
  return 1
}

# freeport picks a random unused port on 127.0.0.1 (bash only, no python).
freeport() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "$NAME: no free port" >&2; return 1
}

# randhex N: N random bytes in hex (a credential or token).
randhex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# listening PORT DIR WHAT: wait up to 10 s for 127.0.0.1:PORT, then print
# the `source DIR/env` line; else say that WHAT did not start.
listening() {
  local port=$1 dir=$2 what=$3
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      echo "source $dir/env"
      return 0
    fi
    sleep 0.1
  done
  echo "$NAME: $what did not start; see $dir/log" >&2
  return 1
}

stop() {
  local dir=$1
  [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
}

main() {
  case "${1:-}" in
    build) build ;;
    start) start "${2:?dir}" ;;
    stop) stop "${2:?dir}" ;;
    *) echo "usage: $0 build|start DIR|stop DIR" >&2; exit 2 ;;
  esac
}
