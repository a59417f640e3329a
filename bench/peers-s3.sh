#!/usr/bin/env bash
# bench/peers-s3.sh [s3bench flags...]
#
# End-to-end hdw ingest from the local S3 server against a plain parallel
# download of the same objects with the same SDK (issue 9: at least 60%).
# Starts versitygw with scripts/s3-server.sh (built once into ~/.cache/hdw,
# as make test does), builds bench/cmd/s3bench and hdw, and runs s3bench:
# a synthetic upload (~1,000 objects: 512x512 CT slices and photos, ~500 MB)
# under s3://hdw-test/<run>/ACME/images/, R (default 3) alternated runs of
# the download and of `hdw ingest` into a fresh local warehouse, one ingest
# into an S3 warehouse, then prints objects/s, MB/s, the ratio, hdw's peak
# RSS and CPU. Everything is stopped and removed at exit.
#
# Environment: R (runs, default 3); PROFILE=FILE runs one more ingest with
# HDW_CPUPROFILE=FILE and prints the top of the profile; EXPERIMENTS=1 also
# runs pipeline.Ingest in-process in variants that isolate the costs
# (warehouse on tmpfs, twice the workers, nothing written, no
# de-identification). Extra arguments go to s3bench (s3bench -h), e.g.
# -photos 0 for CT slices only. The S3 server runs on the same cores: its CPU
# time is printed per phase. The machine may be shared: the figures are
# best-of-R; read the spread.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
cleanup() {
	bash scripts/s3-server.sh stop "$work/s3" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
eval "$(bash scripts/s3-server.sh start "$work/s3")"
go build -o "$work/s3bench" ./bench/cmd/s3bench
go build -o "$work/hdw" ./cmd/hdw
args=(-runs "${R:-3}" -hdw "$work/hdw" -server-pid "$(cat "$work/s3/pid")")
if [ -n "${PROFILE:-}" ]; then args+=(-cpuprofile "$PROFILE"); fi
if [ -n "${EXPERIMENTS:-}" ]; then args+=(-experiments); fi
"$work/s3bench" "${args[@]}" "$@"
if [ -n "${PROFILE:-}" ]; then
	echo "== top of the CPU profile (flat, then cumulative)"
	go tool pprof -top -nodecount 25 "$work/hdw" "$PROFILE" 2>/dev/null | sed -n '1,32p'
	go tool pprof -top -cum -nodecount 40 "$work/hdw" "$PROFILE" 2>/dev/null | sed -n '6,47p'
fi
