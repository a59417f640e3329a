#!/bin/sh
# bench/peers-dicom.sh [DIR]
#
# De-identifies the same folder of DICOM files with hdw's masker
# (bench/cmd/dcmbench), GDCM's gdcmanon (PS3.15 E.1 basic profile, Debian
# libgdcm-tools) and a dcmodify erasure (dcmtk: private tags and ~30
# identifying attributes erased, UIDs not remapped) and prints files/s, MB/s
# and hdw's speed ratio to each peer, each the best of R runs (default 3;
# writes to the page cache make single runs noisy). Without DIR, N (default 200) synthetic
# 512x512 CT slices are generated. DCMBENCH names a prebuilt dcmbench. The machine is shared: numbers are
# indicative; each tool runs once on a warm page cache.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${DCMBENCH:-}" ]; then cp "$DCMBENCH" "$work/dcmbench"; else (cd "$root" && go build -o "$work/dcmbench" ./bench/cmd/dcmbench); fi
if [ $# -ge 1 ]; then
	in=$1
else
	in=$work/in
	"$work/dcmbench" -in "$in" -synth "${N:-200}"
fi
files=$(find "$in" -maxdepth 1 -type f | wc -l)
bytes=$(find "$in" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
cat "$in"/* >/dev/null # warm the page cache
now() { date +%s.%N; }
report() { # name seconds
	awk -v n="$1" -v s="$2" -v f="$files" -v b="$bytes" 'BEGIN {
		printf "%-10s files=%d seconds=%.3f files_per_s=%.1f mb_per_s=%.1f\n", n, f, s, f/s, b/1e6/s }'
}

runs=${R:-3}
best() { # current candidate
	if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi
}

hdw=""
i=0
while [ $i -lt "$runs" ]; do
	rm -rf "$work/hdw"
	t0=$(now)
	"$work/dcmbench" -in "$in" -out "$work/hdw" >"$work/hdw.txt"
	t1=$(now)
	hdw=$(best "$hdw" "$(echo "$t1 - $t0" | bc)")
	i=$((i + 1))
done
report hdw "$hdw"
sed 's/^/  /' "$work/hdw.txt"
# Informational: the ingest runs workers in parallel; the peers are
# single-process tools, so ratios use the one-worker run.
rm -rf "$work/hdw"
"$work/dcmbench" -in "$in" -out "$work/hdw" -j 2 | sed 's/^/  /'


gdcm=""
if command -v gdcmanon >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
		-subj /CN=hdw-bench -days 1 >/dev/null 2>&1
	i=0
	while [ $i -lt "$runs" ]; do
		rm -rf "$work/gdcm"
		mkdir -p "$work/gdcm"
		t0=$(now)
		gdcmanon -e -c "$work/cert.pem" -i "$in" -o "$work/gdcm" -r --continue >/dev/null 2>&1 || true
		t1=$(now)
		gdcm=$(best "$gdcm" "$(echo "$t1 - $t0" | bc)")
		i=$((i + 1))
	done
	report gdcmanon "$gdcm"
else
	echo "gdcmanon: not installed (apt-get install libgdcm-tools)"
fi

dcmod=""
if command -v dcmodify >/dev/null 2>&1; then
	set --
	for t in 0010,0010 0010,0020 0010,0030 0010,0040 0010,1000 0010,1001 0010,1040 0010,2154 \
		0008,0050 0008,0080 0008,0081 0008,0090 0008,1010 0008,1030 0008,103E 0008,1040 \
		0008,1048 0008,1050 0008,1060 0008,1070 0018,1000 0020,0010 0020,4000 0032,1032 \
		0038,0010 0040,0275 0040,A730 0088,0200 0002,0016 0010,21B0; do
		set -- "$@" -ea "($t)"
	done
	i=0
	while [ $i -lt "$runs" ]; do
		rm -rf "$work/dcmodify"
		mkdir -p "$work/dcmodify"
		cp "$in"/* "$work/dcmodify/" # copies are not timed
		t0=$(now)
		dcmodify -q -nb -ie -ep "$@" "$work/dcmodify"/* >/dev/null 2>&1 || true
		t1=$(now)
		dcmod=$(best "$dcmod" "$(echo "$t1 - $t0" | bc)")
		i=$((i + 1))
	done
	report dcmodify "$dcmod"
else
	echo "dcmodify: not installed (apt-get install dcmtk)"
fi

for peer in "gdcmanon:$gdcm" "dcmodify:$dcmod"; do
	name=${peer%%:*}
	secs=${peer#*:}
	[ -n "$secs" ] || continue
	awk -v n="$name" -v p="$secs" -v h="$hdw" 'BEGIN { printf "ratio hdw/%s speed: %.2fx\n", n, p/h }'
done
