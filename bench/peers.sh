#!/bin/sh
# bench/peers.sh: hdw side by side with its peers on the same files (make bench-peers).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
echo "== DICOM: hdw vs gdcmanon vs dcmodify"
sh "$here/peers-dicom.sh"
echo "== photos: hdw vs exiftool -all="
sh "$here/peers-photo.sh"
echo "== pseudonyms vs raw HMAC-SHA256, envelope vs raw AES-256-GCM"
cd "$here/.." && go test -run '^$' -bench 'Pseudonym$|RawHMAC|Encrypt|RawGCM' -benchtime 2s ./pseudo ./envelope | grep -E '^Benchmark'
echo "== S3: hdw ingest vs a plain parallel download (same SDK)"
bash "$here/peers-s3.sh"
