#!/bin/sh
# bench/peers-dicom.sh [DIR]
#
# De-identifies the same DICOM files with hdw's masker (bench/cmd/dcmbench),
# GDCM's gdcmanon (PS3.15 E.1 basic profile with encrypted original
# attributes, Debian libgdcm-tools) and a dcmodify erasure (dcmtk: private
# tags and ~30 identifying attributes erased in place, UIDs not remapped), in
# alternation, best of R runs (default 3), and prints for each tool files/s,
# MB/s and peak RSS, then hdw's speed ratio to each peer.
#
# Without DIR the corpus is generated, one class at a time:
#   small  N_SMALL (2000) 128x128 CT slices (34 KiB)
#   ct     N_CT (1000) 512x512 CT slices (526 KiB)
#   multi  one 512x512x380 multi-frame CT (200 MB)
# hdw runs with one worker (the per-core figure, as the peers are
# single-process tools), with one worker per core (how the ingest runs),
# and with one worker plus the ingest's residual identifier scan over every
# output byte (a check neither peer makes); ratios are given for the three.
# Without the scan, native pixel data goes from file to file in the kernel
# (io.Copy between two files); the scan reads every byte. DCMBENCH names a
# prebuilt dcmbench.
# A plain copy of the same files with one worker (dcmbench -copy: the same
# io.Copy from file to file, no parsing) is timed too: the fastest any
# single-process tool that writes a new file per input can go. Its ratio to
# gdcmanon is the ceiling of hdw's per-core ratio on that class.
# Files live in /dev/shm when it has room (else TMPDIR or /tmp), so that
# the disk's write-back does not set the pace of every tool (on this
# project's VM disk, creating files costs more than de-identifying them).
# The machine may be shared: each class is measured in alternation on a
# warm page cache and the best run is kept; the CPU time (user+system) of
# each tool's least costly run is printed beside it, steadier than wall
# time under load, and the whole-corpus ratios are given by CPU time too.
# DCMBENCH_BEFORE names another dcmbench (e.g. built from an earlier
# commit): it runs with the residual scan in alternation with the others
# ("before -j1 +scan"), so that a change is measured inside one run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/workdir.sh"
workdir peers-dicom 2000000
benchbin dcmbench "${DCMBENCH:-}"
have_before=0
if [ -n "${DCMBENCH_BEFORE:-}" ]; then cp "$DCMBENCH_BEFORE" "$work/dcmbench-before" && have_before=1; fi
dir=${1:-}
runs=${R:-3}
cores=$(nproc)
have_gdcm=0
if command -v gdcmanon >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
	have_gdcm=1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
		-subj /CN=hdw-bench -days 1 >/dev/null 2>&1
else
	echo "gdcmanon: not installed (apt-get install libgdcm-tools)"
fi
have_dcmodify=0
if command -v dcmodify >/dev/null 2>&1; then have_dcmodify=1; else echo "dcmodify: not installed (apt-get install dcmtk)"; fi
[ -x /usr/bin/time ] || { echo "peers-dicom: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

# The dcmodify erasure, as a script so that the file list is expanded when it runs.
{
	printf '#!/bin/sh\nexec dcmodify -q -nb -ie -ep'
	for t in 0010,0010 0010,0020 0010,0030 0010,0040 0010,1000 0010,1001 0010,1040 0010,2154 \
		0008,0050 0008,0080 0008,0081 0008,0090 0008,1010 0008,1030 0008,103E 0008,1040 \
		0008,1048 0008,1050 0008,1060 0008,1070 0018,1000 0020,0010 0020,4000 0032,1032 \
		0038,0010 0040,0275 0040,A730 0088,0200 0002,0016 0010,21B0; do
		printf " -ea '(%s)'" "$t"
	done
	printf ' "$1"/*\n'
} >"$work/erase.sh"
chmod +x "$work/erase.sh"
now() { date +%s.%N; }

# timed NAME CMD...: runs CMD under /usr/bin/time, keeps the best wall time,
# the least CPU time (user+system) and the largest RSS of NAME in
# $work/NAME.best / .cpu / .rss.
timed() {
	name=$1
	shift
	t0=$(now)
	/usr/bin/time -f '%M %U %S' -o "$work/time.txt" "$@" >/dev/null 2>&1 || true
	t1=$(now)
	secs=$(echo "$t1 - $t0" | bc)
	rss=$(tail -n 1 "$work/time.txt" | cut -d' ' -f1)
	cpu=$(tail -n 1 "$work/time.txt" | awk '{printf "%.2f", $2 + $3}')
	bcpu=$(cat "$work/$name.cpu" 2>/dev/null || echo "")
	if [ -z "$bcpu" ] || [ "$(echo "$cpu < $bcpu" | bc)" = 1 ]; then echo "$cpu" >"$work/$name.cpu"; fi
	best=$(cat "$work/$name.best" 2>/dev/null || echo "")
	if [ -z "$best" ] || [ "$(echo "$secs < $best" | bc)" = 1 ]; then echo "$secs" >"$work/$name.best"; fi
	old=$(cat "$work/$name.rss" 2>/dev/null || echo 0)
	[ "$rss" -gt "$old" ] && echo "$rss" >"$work/$name.rss"
	return 0
}

# class ID NAME DIR: measures every tool on the files of DIR.
class() {
	cid=$1
	cname=$2
	in=$3
	files=$(find "$in" -maxdepth 1 -type f | wc -l)
	bytes=$(find "$in" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
	cat "$in"/* >/dev/null # warm the page cache
	rm -f "$work"/*.best "$work"/*.rss "$work"/*.cpu
	i=0
	while [ $i -lt "$runs" ]; do
		rm -rf "$work/out"
		timed hdw "$work/dcmbench" -in "$in" -out "$work/out" -j 1
		rm -rf "$work/out"
		timed hdwj "$work/dcmbench" -in "$in" -out "$work/out" -j "$cores"
		rm -rf "$work/out"
		timed hdws "$work/dcmbench" -in "$in" -out "$work/out" -j 1 -scan
		if [ $have_before = 1 ]; then
			rm -rf "$work/out"
			timed before "$work/dcmbench-before" -in "$in" -out "$work/out" -j 1 -scan
		fi
		rm -rf "$work/out"
		timed copy "$work/dcmbench" -in "$in" -out "$work/out" -j 1 -copy
		if [ $have_gdcm = 1 ]; then
			rm -rf "$work/out" && mkdir -p "$work/out"
			timed gdcmanon gdcmanon -e -c "$work/cert.pem" -i "$in" -o "$work/out" -r --continue
		fi
		if [ $have_dcmodify = 1 ]; then
			rm -rf "$work/out" && mkdir -p "$work/out" && cp "$in"/* "$work/out/" # copies are not timed
			timed dcmodify "$work/erase.sh" "$work/out"
		fi
		i=$((i + 1))
	done
	rm -rf "$work/out"
	echo "-- $cname: $files files, $(echo "$bytes" | awk '{printf "%.1f MB", $1/1e6}')"
	for t in hdw hdwj hdws before copy gdcmanon dcmodify; do
		[ -f "$work/$t.best" ] || continue
		label=$t
		[ $t = copy ] && label="copy -j1"

		[ $t = hdw ] && label="hdw -j1"
		[ $t = hdwj ] && label="hdw -j$cores"
		[ $t = hdws ] && label="hdw -j1 +scan"
		[ $t = before ] && label="before -j1 +scan"
		awk -v n="$label" -v s="$(cat "$work/$t.best")" -v r="$(cat "$work/$t.rss")" -v c="$(cat "$work/$t.cpu")" -v f="$files" -v b="$bytes" 'BEGIN {
			if (s < 0.001) s = 0.001
			printf "%-10s files_per_s=%-8.1f mb_per_s=%-7.1f peak_rss_mib=%-6.0f seconds=%.2f cpu_s=%.2f\n", n, f/s, b/1e6/s, r/1024, s, c }'
		echo "$cid $t $(cat "$work/$t.best") $(cat "$work/$t.cpu")" >>"$work/all.txt"
	done
	for p in gdcmanon dcmodify; do
		[ -f "$work/$p.best" ] || continue
		awk -v p="$p" -v ps="$(cat "$work/$p.best")" -v h="$(cat "$work/hdw.best")" -v hj="$(cat "$work/hdwj.best")" -v hs="$(cat "$work/hdws.best")" -v c="$cores" 'BEGIN {
			printf "ratio hdw/%s speed: %.2fx per core (-j1), %.2fx on %d cores, %.2fx per core with the residual scan (goal vs gdcmanon: 3x)\n", p, ps/h, ps/hj, c, ps/hs }'
		awk -v p="$p" -v ps="$(cat "$work/$p.best")" -v cp="$(cat "$work/copy.best")" 'BEGIN {
			printf "  ceiling: a plain copy is %.2fx %s per core\n", ps/cp, p }'
	done
}

if [ -n "$dir" ]; then
	class dir "$(basename "$dir")" "$dir"
else
	"$work/dcmbench" -in "$work/small" -synth "${N_SMALL:-2000}" -size 128
	class small "small (128x128 slices)" "$work/small"
	rm -rf "$work/small"
	"$work/dcmbench" -in "$work/ct" -synth "${N_CT:-1000}" -size 512
	class ct "ct (512x512 slices)" "$work/ct"
	rm -rf "$work/ct"
	"$work/dcmbench" -in "$work/multi" -synth 1 -size 512 -frames "${FRAMES:-380}"
	class multi "multi (512x512x${FRAMES:-380} frames)" "$work/multi"
	rm -rf "$work/multi"
	echo "-- whole corpus (sum of the best times per class)"
	for p in gdcmanon dcmodify; do
		grep -q " $p " "$work/all.txt" || continue
		awk -v p="$p" '$2 == p {ps += $3} $2 == "hdw" {h += $3} $2 == "hdwj" {hj += $3} $2 == "hdws" {hs += $3} $2 == "copy" {c += $3}
			END { printf "ratio hdw/%s speed: %.2fx per core, %.2fx on all cores, %.2fx per core with the residual scan; ceiling (plain copy) %.2fx per core\n", p, ps/h, ps/hj, ps/hs, ps/c }' "$work/all.txt"
		awk -v p="$p" '$2 == p {ps += $4} $2 == "hdw" {h += $4} $2 == "hdws" {hs += $4} $2 == "copy" {c += $4}
			END { printf "by CPU time (user+system): hdw/%s %.2fx per core, %.2fx with the residual scan; plain copy %.2fx\n", p, ps/h, ps/hs, ps/c }' "$work/all.txt"
		[ $have_before = 1 ] || continue
		awk -v p="$p" '$2 == p {ps += $4; pw += $3} $2 == "before" {b += $4; bw += $3}
			END { printf "before (DCMBENCH_BEFORE): hdw/%s %.2fx per core with the residual scan by CPU time, %.2fx by wall time\n", p, ps/b, pw/bw }' "$work/all.txt"
	done
	echo "load: $(uptime | sed 's/.*load average/load average/')"
fi
