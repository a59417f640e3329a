#!/bin/sh
# dicom-samples.sh CACHE_DIR
#
# Gathers free-licensed sample DICOM files shipped by Debian packages
# (python3-pydicom: MIT test files; dicom3tools: BSD-style; octave-dicom:
# GPL-3 test images) into CACHE_DIR/files, without installing anything:
# `apt-get download` then `dpkg -x`. Files are found by content (the "DICM"
# preamble at offset 128), not by name. Prints the number of files gathered.
# Use: HDW_DICOM_SAMPLES=CACHE_DIR/files go test ./masking/dcm -run RealFiles
set -eu
cache=${1:?usage: dicom-samples.sh CACHE_DIR}
mkdir -p "$cache/debs" "$cache/x" "$cache/files"
cd "$cache/debs"
for pkg in python3-pydicom dicom3tools octave-dicom; do
	if ! ls "$pkg"_*.deb >/dev/null 2>&1; then
		apt-get download "$pkg" >/dev/null 2>&1 || echo "dicom-samples: $pkg not available" >&2
	fi
done
for deb in *.deb; do
	[ -e "$deb" ] || continue
	name=${deb%%_*}
	[ -d "$cache/x/$name" ] || dpkg -x "$deb" "$cache/x/$name"
done
# Copy every file with a DICM preamble, named by package and a hash of its
# path (sample names are not identifying, but outputs never reuse them).
find "$cache/x" -type f -size +131c | while read -r f; do
	if [ "$(dd if="$f" bs=1 skip=128 count=4 2>/dev/null)" = "DICM" ]; then
		pkg=$(echo "$f" | sed "s#^$cache/x/##; s#/.*##")
		h=$(printf '%s' "$f" | sha256sum | cut -c1-16)
		cp "$f" "$cache/files/$pkg-$h.dcm"
	fi
done
echo "dicom-samples: $(ls "$cache/files" | wc -l) files in $cache/files"
