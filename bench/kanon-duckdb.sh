#!/bin/sh
# bench/kanon-duckdb.sh [N]: the export gate's k-anonymity count (bench/cmd/kanon)
# against the same count as a GROUP BY in DuckDB (npm @duckdb/node-api, installed
# from the npm registry into the cache), on the same N-row Parquet file
# (default 1,000,000; 8 quasi-identifiers). Prints both times and the ratio.
set -eu
N=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${HDW_CACHE:-$HOME/.cache/hdw}/duckdb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/kanon" ./bench/cmd/kanon)
"$work/kanon" -file "$work/t.parquet" -gen "$N"
out=$("$work/kanon" -file "$work/t.parquet" -check)
echo "hdw     $out"
hdw=$(echo "$out" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
if [ ! -d "$cache/node_modules/@duckdb/node-api" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm install --no-audit --no-fund @duckdb/node-api@1.5.6-r.1 >/dev/null 2>&1) || { echo "duckdb: @duckdb/node-api not installable here; skipped"; exit 0; }
fi
cat > "$work/q.mjs" <<JS
import { DuckDBInstance } from '$cache/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const t0 = performance.now();
const r = await c.runAndReadAll(\`
  WITH g AS (SELECT ((2026 - CAST(birth_year AS INT)) // 20) AS age, sex_code, substr(department,1,1) AS zone,
      visit_year, modality, body_site, weight_band, height_band, count(DISTINCT pseudonym) AS persons
    FROM read_parquet('$work/t.parquet') GROUP BY ALL)
  SELECT count(*) AS classes, min(persons) AS smallest, count(*) FILTER (WHERE persons < 5) AS below FROM g\`);
const s = (performance.now() - t0) / 1000;
console.log('duckdb  classes=' + r.getRows()[0][0] + ' smallest=' + r.getRows()[0][1] + ' below_k=' + r.getRows()[0][2] + ' seconds=' + s.toFixed(2));
JS
dout=$(node "$work/q.mjs")
echo "$dout"
duck=$(echo "$dout" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
awk -v h="$hdw" -v d="$duck" 'BEGIN { printf "ratio duckdb/hdw time = %.2f (hdw also checks l-diversity, risk and linkability)\n", h/d }'
