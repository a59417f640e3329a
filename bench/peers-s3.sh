#!/usr/bin/env bash
# bench/peers-s3.sh [s3bench flags...]
#
# End-to-end hdw ingest from the local S3 server against a plain parallel
# download of the same objects with the same SDK (issues 9 and 24). Starts
# versitygw with scripts/s3-server.sh (built once into ~/.cache/hdw, as make
# test does; Vault is not needed), builds bench/cmd/s3bench and hdw, and runs
# s3bench on four synthetic uploads under s3://hdw-test/<run>-<corpus>/:
# 900 CT slices 512x512, 8 multi-frame CTs 512x512x120, 100 photos 1600x1200,
# and the slices with the photos. For each: R (default 2) alternated runs of
# the plain download, the download written to the warehouse's disk, hdw into
# a fresh disk warehouse and hdw into an S3 warehouse (MB/s, objects/s, CPU
# seconds, cores, peak RSS of each process), then one more hdw ingest with
# HDW_CPUPROFILE whose samples are split by stage (fetch, decode,
# de-identify, faces, residual scan, pseudonymize, hash, encrypt, write,
# tables, audit, keyring unlock, GC). Everything is stopped and removed at
# exit.
#
# Environment: R (runs, default 2); CORPORA (default
# ct,multiframe,photos,mixed); PROFILE=FILE keeps the profiles as
# FILE-<corpus> and prints the top of each; BEFORE=REV also measures hdw
# built at git revision REV in alternation (the "before" rows); EXPERIMENTS=1 also runs
# pipeline.Ingest in-process in variants that isolate the costs. Extra
# arguments go to s3bench (s3bench -h), e.g. -corpora custom -photos 0. The
# S3 server runs on the same cores: its CPU time is printed per phase. The
# machine may be shared: the figures are best-of-R; read the spread.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
cleanup() {
	bash scripts/s3-server.sh stop "$work/s3" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
# The server as an S3 service runs: connections kept alive (versitygw closes
# each one after its response by default: every GET and PUT, of the
# download as of hdw, paid a new TCP connection) and no line per request on
# its stdout (its CPU is on the same 2 cores).
server_env=$(VGW_KEEP_ALIVE=true VGW_QUIET=true bash scripts/s3-server.sh start "$work/s3")
eval "$server_env"
go build -o "$work/s3bench" ./bench/cmd/s3bench
go build -o "$work/hdw" ./cmd/hdw
args=(-runs "${R:-2}" -corpora "${CORPORA:-ct,multiframe,photos,mixed}" -hdw "$work/hdw" -server-pid "$(cat "$work/s3/pid")")
if [ -n "${PROFILE:-}" ]; then args+=(-cpuprofile "$PROFILE"); fi
if [ -n "${EXPERIMENTS:-}" ]; then args+=(-experiments); fi
if [ -n "${BEFORE:-}" ]; then
	# BEFORE=REV: hdw built at that git revision, measured in alternation.
	git -C "$root" archive "$BEFORE" | tar -x -C "$work" --one-top-level=before
	(cd "$work/before" && go build -o "$work/hdw-before" ./cmd/hdw)
	args+=(-before "$work/hdw-before")
fi
"$work/s3bench" "${args[@]}" "$@"
if [ -n "${PROFILE:-}" ]; then
	for p in "$PROFILE"-*; do
		echo "== top of the CPU profile $p (cumulative)"
		go tool pprof -top -cum -nodecount 40 "$work/hdw" "$p" 2>/dev/null | sed -n '6,47p'
	done
fi
