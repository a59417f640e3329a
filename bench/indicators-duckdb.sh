#!/bin/sh
# bench/indicators-duckdb.sh [N]: hdw's differentially private count per
# department and modality (bench/cmd/dpbench: per-person bounds, private group
# selection, noise) against DuckDB's exact GROUP BY on the same N-row Parquet
# file (default 10,000,000; 5 rows per person), in the same run. DuckDB is npm
# @duckdb/node-api, installed from the npm registry into the cache as
# bench/kanon-duckdb.sh does. Prints both times and the ratios. hdw reads
# typed record batches (indicators.RecordRows); "hdw-strings" is the same
# run over the string view; DPBENCH_BEFORE=path runs an older dpbench
# binary on the same file too (before/after in one run).
set -eu
N=${1:-10000000}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${HDW_CACHE:-$HOME/.cache/hdw}/duckdb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/dpbench" ./bench/cmd/dpbench)
"$work/dpbench" -file "$work/t.parquet" -gen "$N"
if [ -n "${DPBENCH_BEFORE:-}" ]; then
  echo "before  $("$DPBENCH_BEFORE" -file "$work/t.parquet" -run)"
fi
echo "hdw-strings $("$work/dpbench" -file "$work/t.parquet" -run -strings)"
out=$("$work/dpbench" -file "$work/t.parquet" -run)
echo "hdw     $out"
hdw=$(echo "$out" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
if [ ! -d "$cache/node_modules/@duckdb/node-api" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm install --no-audit --no-fund @duckdb/node-api@1.5.6-r.1 >/dev/null 2>&1) || { echo "duckdb: @duckdb/node-api not installable here; skipped"; exit 0; }
fi
cat > "$work/q.mjs" <<JS
import { DuckDBInstance } from '$cache/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
for (const [name, agg] of [['rows', 'count(*)'], ['persons', 'count(DISTINCT pseudonym)']]) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  const r = await c.runAndReadAll(\`SELECT department, modality, \${agg} AS n FROM read_parquet('$work/t.parquet') GROUP BY ALL\`);
  const s = (performance.now() - t0) / 1000, cu = process.cpuUsage(c0);
  console.log('duckdb-' + name + ' groups=' + r.getRows().length + ' seconds=' + s.toFixed(2) + ' cpu_s=' + ((cu.user + cu.system) / 1e6).toFixed(2));
}
JS
dout=$(node "$work/q.mjs")
echo "$dout"
rows=$(echo "$dout" | sed -n 's/^duckdb-rows.*seconds=\([0-9.]*\).*/\1/p')
persons=$(echo "$dout" | sed -n 's/^duckdb-persons.*seconds=\([0-9.]*\).*/\1/p')
awk -v h="$hdw" -v r="$rows" -v p="$persons" 'BEGIN { printf "hdw / duckdb count(*) = %.1fx, hdw / duckdb count(DISTINCT pseudonym) = %.1fx\n", h/r, h/p }'
hcpu=$(echo "$out" | sed 's/.*cpu_s=\([0-9.]*\).*/\1/')
rcpu=$(echo "$dout" | sed -n 's/^duckdb-rows.*cpu_s=\([0-9.]*\).*/\1/p')
awk -v h="$hcpu" -v r="$rcpu" 'BEGIN { printf "CPU time: hdw %.2f s, duckdb count(*) %.2f s (%.1fx)\n", h, r, h/r }'
