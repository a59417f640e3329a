#!/bin/sh
# bench/peers-photo.sh: strips the metadata of the same synthetic photos with
# hdw (bench/cmd/photobench, lossless segment rewriting, faces off) and with
# `exiftool -all=` (Debian libimage-exiftool-perl), prints files/s, MB/s and
# the ratio. N photos (default 50) of W x H pixels (default 4000 x 3000, 12 MP).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/photobench" ./bench/cmd/photobench)
"$work/photobench" -in "$work/in" -synth "${N:-50}" -w "${W:-4000}" -h "${H:-3000}"
files=$(ls "$work/in" | wc -l)
bytes=$(du -sb "$work/in" | cut -f1)
now() { date +%s.%N; }
t0=$(now); "$work/photobench" -in "$work/in" -out "$work/hdw"; t1=$(now)
cp -r "$work/in" "$work/ex"
t2=$(now); exiftool -q -q -all= -overwrite_original "$work/ex" >/dev/null 2>&1 || true; t3=$(now)
awk -v f="$files" -v b="$bytes" -v h="$(echo "$t1 - $t0" | bc)" -v e="$(echo "$t3 - $t2" | bc)" 'BEGIN {
  printf "photos: %d files, %.1f MB\n", f, b/1e6
  printf "hdw       files_per_s=%.1f mb_per_s=%.1f\n", f/h, b/1e6/h
  printf "exiftool  files_per_s=%.1f mb_per_s=%.1f\n", f/e, b/1e6/e
  printf "ratio hdw/exiftool = %.1fx (goal: 10x)\n", e/h }'
