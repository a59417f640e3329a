#!/bin/sh
# bench/indicators-duckdb.sh [N]: hdw's differentially private count per
# department and modality (bench/cmd/dpbench: per-person bounds, private group
# selection, noise) against DuckDB's exact GROUP BY on the same N-row Parquet
# file (default 10,000,000; 5 rows per person), in the same run. DuckDB is npm
# @duckdb/node-api, installed from the npm registry into the cache as
# bench/kanon-duckdb.sh does. Prints both times and the ratios. hdw reads
# typed record batches (indicators.RecordRows); "hdw-strings" is the same
# run over the string view; DPBENCH_BEFORE=path runs an older dpbench
# binary on the same file too (before/after in one run; DPBENCH_RUNS=N
# alternates them N times, the ratios use the last). hdw's persons are
# hashed where the pages are decoded (tables.RecordsHashed). "cells" is
# DuckDB's exact equivalent of hdw's computation (per person and group,
# then per group, rows bounded by 5), "persons" count(DISTINCT pseudonym).
# DPBENCH_BEFORE_GEN=1: the before binary writes its own copy of the file
# (its table layer's layout) and reads that one. DPBENCH_BASE32=1: the
# pseudonyms are 32 base32 characters, as package pseudo makes them
# (default P<n>; an older dpbench cannot write them).
set -eu
N=${1:-10000000}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${HDW_CACHE:-$HOME/.cache/hdw}/duckdb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/dpbench" ./bench/cmd/dpbench)
gen=""
[ -n "${DPBENCH_BASE32:-}" ] && gen="-base32"
"$work/dpbench" -file "$work/t.parquet" -gen "$N" $gen
bfile="$work/t.parquet"
if [ -n "${DPBENCH_BEFORE:-}" ] && [ -n "${DPBENCH_BEFORE_GEN:-}" ]; then
  bfile="$work/before.parquet"
  "$DPBENCH_BEFORE" -file "$bfile" -gen "$N" $gen
fi
ls -l "$work"/*.parquet
uptime
echo "hdw-strings $("$work/dpbench" -file "$work/t.parquet" -run -strings)"
i=0
while [ "$i" -lt "${DPBENCH_RUNS:-1}" ]; do
  if [ -n "${DPBENCH_BEFORE:-}" ]; then
    echo "before  $("$DPBENCH_BEFORE" -file "$bfile" -run)"
  fi
  out=$("$work/dpbench" -file "$work/t.parquet" -run)
  echo "hdw     $out"
  i=$((i + 1))
done
hdw=$(echo "$out" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
if [ ! -d "$cache/node_modules/@duckdb/node-api" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm install --no-audit --no-fund @duckdb/node-api@1.5.6-r.1 >/dev/null 2>&1) || { echo "duckdb: @duckdb/node-api not installable here; skipped"; exit 0; }
fi
cat > "$work/q.mjs" <<JS
import { DuckDBInstance } from '$cache/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const f = "read_parquet('$work/t.parquet')";
for (const [name, q] of [
  ['rows', \`SELECT department, modality, count(*) AS n FROM \${f} GROUP BY ALL\`],
  // The exact count with hdw's per-person bound (at most 5 rows per
  // person and group): one row per (person, group) cell, then per group.
  ['cells', \`SELECT department, modality, sum(least(n, 5)) AS n FROM (SELECT pseudonym, department, modality, count(*) AS n FROM \${f} GROUP BY ALL) GROUP BY ALL\`],
  ['persons', \`SELECT department, modality, count(DISTINCT pseudonym) AS n FROM \${f} GROUP BY ALL\`]]) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  const r = await c.runAndReadAll(q);
  const s = (performance.now() - t0) / 1000, cu = process.cpuUsage(c0);
  console.log('duckdb-' + name + ' groups=' + r.getRows().length + ' seconds=' + s.toFixed(2) + ' cpu_s=' + ((cu.user + cu.system) / 1e6).toFixed(2));
}
JS
dout=$(node "$work/q.mjs")
echo "$dout"
rows=$(echo "$dout" | sed -n 's/^duckdb-rows.*seconds=\([0-9.]*\).*/\1/p')
cells=$(echo "$dout" | sed -n 's/^duckdb-cells.*seconds=\([0-9.]*\).*/\1/p')
persons=$(echo "$dout" | sed -n 's/^duckdb-persons.*seconds=\([0-9.]*\).*/\1/p')
awk -v h="$hdw" -v r="$rows" -v c="$cells" -v p="$persons" 'BEGIN { printf "hdw / duckdb count(*) = %.1fx, hdw / duckdb per-person cells = %.1fx, hdw / duckdb count(DISTINCT pseudonym) = %.1fx\n", h/r, h/c, h/p }'
hcpu=$(echo "$out" | sed 's/.*cpu_s=\([0-9.]*\).*/\1/')
rcpu=$(echo "$dout" | sed -n 's/^duckdb-rows.*cpu_s=\([0-9.]*\).*/\1/p')
ccpu=$(echo "$dout" | sed -n 's/^duckdb-cells.*cpu_s=\([0-9.]*\).*/\1/p')
awk -v h="$hcpu" -v r="$rcpu" -v c="$ccpu" 'BEGIN { printf "CPU time: hdw %.2f s, duckdb count(*) %.2f s (%.1fx), duckdb per-person cells %.2f s (%.1fx)\n", h, r, h/r, c, h/c }'
uptime
