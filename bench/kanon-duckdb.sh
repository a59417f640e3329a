#!/bin/sh
# bench/kanon-duckdb.sh [N...]: the export gate's k and l counts on typed
# tables (bench/cmd/kanon -count: tables.Counter, out of core) against the
# same counts as a GROUP BY in DuckDB (npm @duckdb/node-api, installed from
# the npm registry into the cache), on the same N-row Parquet file (default
# 1,000,000; 8 quasi-identifiers, k in distinct persons, l over the
# diagnosis), in the same run. Prints both times, peak RSS and the ratio.
# Each step (the file's write too) also runs under /usr/bin/time -v: wall,
# CPU seconds and peak RSS as the kernel counts them. HDW_DUCKDB_MEMORY
# (e.g. 4GB) sets DuckDB's memory_limit, spilling to the work directory
# (the 100M-row run: make bench-export-100m).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${HDW_CACHE:-$HOME/.cache/hdw}/duckdb
work=${HDW_BENCH_DIR:-$(mktemp -d)}
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/kanon" ./bench/cmd/kanon)
if [ ! -d "$cache/node_modules/@duckdb/node-api" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm install --no-audit --no-fund @duckdb/node-api@1.5.6-r.1 >/dev/null 2>&1) || { echo "duckdb: @duckdb/node-api not installable here"; exit 1; }
fi
cat > "$work/q.mjs" <<JS
import { DuckDBInstance } from '$cache/node_modules/@duckdb/node-api/lib/index.js';
import { readFileSync } from 'node:fs';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
if (process.env.HDW_DUCKDB_MEMORY) {
  await c.run("SET memory_limit='" + process.env.HDW_DUCKDB_MEMORY + "'");
  await c.run("SET temp_directory='$work/duckdb.tmp'");
}
const t0 = performance.now(), c0 = process.cpuUsage();
const r = await c.runAndReadAll(\`
  WITH g AS (SELECT ((2026 - CAST(birth_year AS INT)) // 20) AS age, sex_code, substr(department,1,1) AS zone,
      visit_year, modality, body_site, weight_band, height_band,
      count(DISTINCT pseudonym) AS persons, count(DISTINCT diagnosis) AS diags
    FROM read_parquet('\${process.argv[2]}') GROUP BY ALL)
  SELECT count(*) AS classes, min(persons) AS smallest, count(*) FILTER (WHERE persons < 5) AS below,
    count(*) FILTER (WHERE diags < 2) AS below_l2 FROM g\`);
const s = (performance.now() - t0) / 1000, cu = process.cpuUsage(c0);
const hwm = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1];
const row = r.getRows()[0];
console.log('duckdb  classes=' + row[0] + ' smallest=' + row[1] + ' below_k=' + row[2] + ' below_l2=' + row[3] +
  ' seconds=' + s.toFixed(2) + ' peak_rss_mib=' + Math.round(hwm / 1024) + ' cpu_s=' + ((cu.user + cu.system) / 1e6).toFixed(2));
JS
# timev NAME CMD...: runs CMD under /usr/bin/time -v, prints its stdout and
# one line of wall, CPU seconds and peak RSS.
timev() {
  name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@"
  awk -v n="$name" -F': ' '/Elapsed/ {w=$2} /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
    END { printf "time -v %-7s wall=%s cpu_s=%.2f peak_rss_mib=%d\n", n, w, u+s, r/1024 }' "$work/$name.time" >&2
}
for N in ${@:-1000000}; do
  echo "N=$N"
  timev write "$work/kanon" -file "$work/t.parquet" -gen "$N" -memlimit 0 >/dev/null
  echo "file $(du -m "$work/t.parquet" | cut -f1) MiB"
  out=$(timev hdw "$work/kanon" -file "$work/t.parquet" -count)
  echo "hdw     $out"
  hdw=$(echo "$out" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
  dout=$(timev duckdb node "$work/q.mjs" "$work/t.parquet")
  echo "$dout"
  duck=$(echo "$dout" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
  awk -v h="$hdw" -v d="$duck" 'BEGIN { printf "ratio hdw/duckdb time = %.2f\n", h/d }'
  hc=$(echo "$out" | sed 's/.*cpu_s=\([0-9.]*\).*/\1/')
  dc=$(echo "$dout" | sed 's/.*cpu_s=\([0-9.]*\).*/\1/')
  awk -v h="$hc" -v d="$dc" 'BEGIN { printf "ratio hdw/duckdb CPU time = %.2f\n", h/d }'
done
