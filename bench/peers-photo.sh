#!/bin/sh
# bench/peers-photo.sh: strips the metadata of the same synthetic camera
# photos with hdw (bench/cmd/photobench: masking.Deidentifier streaming file
# to file, lossless segment rewriting, runtime.NumCPU() workers, faces off)
# and with `exiftool -all=` (Debian libimage-exiftool-perl; one process, as
# it is used), and prints files/s, MB/s and peak RSS of each, then the ratio
# and the goal (issue #9: hdw >= 10x exiftool's files/s).
#
# Corpus: N JPEGs (default 240) taken in turn from SIZES megapixels
# (default 2,8,12,24), textured and noisy like camera output (about 0.37
# byte/pixel at quality 90) with EXIF (GPS, maker note, thumbnail), XMP,
# IPTC, MPF, COM and a trailer, plus PNG (default 8) 2 MP PNGs with text
# chunks: about 1 GB. Files live in /dev/shm when it has room (else
# TMPDIR or /tmp), so that the disk does not set the pace of either tool.
#
# Each round runs the tools in turn, the order alternating between rounds;
# the best of R rounds (default 3) is reported. Tools:
#   hdw          the ingest's path: the residual scan looks for each
#                file's person identifiers in the output (a check exiftool
#                does not make)
#   hdw-noscan   the same without identifiers: the metadata stripping alone
#   exiftool     exiftool -q -q -all= -overwrite_original DIR, on a fresh
#                copy of the corpus (the copy is not timed)
#   copy         photobench -copy: each file copied unchanged with the same
#                workers as hdw (io.Copy from file to file, in the kernel):
#                the fastest any tool that writes a new file per photo can
#                go; its ratio to exiftool is the ceiling of hdw's
# PHOTOBENCH names a prebuilt photobench. The machine may be shared: a
# single round is noisy, compare best-of figures only.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/workdir.sh"
workdir peers-photo 4000000
benchbin photobench "${PHOTOBENCH:-}"
command -v exiftool >/dev/null 2>&1 || { echo "peers-photo: exiftool missing (apt-get install libimage-exiftool-perl)" >&2; exit 1; }
timer=""
if [ -x /usr/bin/time ]; then timer=/usr/bin/time; fi

"$work/photobench" -in "$work/in" -synth "${N:-240}" -sizes "${SIZES:-2,8,12,24}" -png "${PNG:-8}"
files=$(find "$work/in" -maxdepth 1 -type f | wc -l)
bytes=$(find "$work/in" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
cat "$work/in"/* >/dev/null # warm the page cache
mix=$(ls "$work/in" | sed 's/^p[0-9]*-//; s/\..*//' | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
echo "photos: $files files ($mix), $(echo "$bytes" | awk '{printf "%.1f", $1/1e6}') MB in $base; $(nproc) CPUs; exiftool $(exiftool -ver)"

now() { date +%s.%N; }
# run NAME CMD...: times one run of CMD, appends "seconds rss_kb" to $work/NAME.times.
run() {
	name=$1
	shift
	t0=$(now)
	if [ -n "$timer" ]; then
		$timer -f %M -o "$work/rss" "$@" >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; exit 1; }
		rss=$(tail -n 1 "$work/rss")
	else
		"$@" >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; exit 1; }
		rss=0
	fi
	t1=$(now)
	echo "$(echo "$t1 - $t0" | bc) $rss" >>"$work/$name.times"
}
hdw() { rm -rf "$work/out"; run hdw "$work/photobench" -in "$work/in" -out "$work/out"; }
hdw_noscan() { rm -rf "$work/out"; run hdw-noscan "$work/photobench" -in "$work/in" -out "$work/out" -scan=false; }
copyfloor() { rm -rf "$work/out"; run copy "$work/photobench" -in "$work/in" -out "$work/out" -copy; }
exif() {
	rm -rf "$work/ex"
	cp -r "$work/in" "$work/ex"
	# exiftool exits 1 when some file could not be written: that is a failure here.
	run exiftool exiftool -q -q -all= -overwrite_original "$work/ex"
}

runs=${R:-3}
i=1
while [ "$i" -le "$runs" ]; do
	if [ $((i % 2)) = 1 ]; then
		hdw; hdw_noscan; copyfloor; exif
	else
		exif; copyfloor; hdw_noscan; hdw
	fi
	i=$((i + 1))
done
rm -rf "$work/out" "$work/ex"

# report NAME: best seconds, files/s, MB/s, peak RSS over the runs.
report() {
	awk -v n="$1" -v f="$files" -v b="$bytes" '
		{ if (best == "" || $1 < best) best = $1; if ($2 > rss) rss = $2; all = all sep sprintf("%.2f", $1); sep = " " }
		END { printf "%-11s files_per_s=%.1f mb_per_s=%.1f best_s=%.3f peak_rss_mb=%.1f (runs: %s s)\n", n, f/best, b/1e6/best, best, rss/1024, all }' "$work/$1.times"
}
report hdw
sed 's/^/  last run: /' "$work/hdw.out"
report hdw-noscan
report copy
report exiftool
[ -n "$timer" ] || echo "  (peak RSS not measured: apt-get install time)"
best() { awk 'NR == 1 || $1 < b { b = $1 } END { print b }' "$work/$1.times"; }
awk -v h="$(best hdw)" -v s="$(best hdw-noscan)" -v e="$(best exiftool)" -v c="$(best copy)" 'BEGIN {
	printf "ratio hdw/exiftool files/s = %.2fx (goal: >= 10x); metadata stripping alone (hdw-noscan) = %.2fx\n", e/h, e/s
	printf "  ceiling: a plain copy with the same workers is %.2fx exiftool; hdw-noscan runs at %.0f%% of the copy\n", e/c, 100*c/s
	printf "hdw with the residual scan runs at %.0f%% of the copy (issue 20 goal: >= 80%%)\n", 100*c/h }'
