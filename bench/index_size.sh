#!/usr/bin/env bash
# How big the catalog and the shared index log grow per instance, measured:
# ingests N small synthetic instances into an archive whose index log goes to
# an object store in a folder (store.conf: directory = ...), then reports
#  - RocksDB size as ingest left it and after a full compaction by RocksDB's
#    own `ldb` (rocksdb-tools), per instance and per million instances;
#  - index log bytes (the objects under index/log/) and checkpoint bytes;
#  - a full checkpoint (made by `dcmfs reindex`, a new history): what a new
#    reader downloads, and how long `dcmfs attach` takes from it or from the log;
#  - ingest rate with the log published and, for comparison, without.
#   bash bench/index_size.sh [SLICES]   (DCMFS=path/to/dcmfs, WORK=dir)
# SLICES per CT and per MR series (default 4000: ~28 000 instances).
set -euo pipefail
cd "$(dirname "$0")/.."
SLICES=${1:-4000}
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
command -v ldb >/dev/null || { echo "ldb missing: apt-get install rocksdb-tools" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d /var/tmp/dcmfs-bench-index.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT

bytes() { { find "$@" -type f -printf '%s\n' 2>/dev/null || true; } | awk '{s+=$1} END {print s+0}'; }
seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc -l; }
per() { echo "scale=1; $1 / $2" | bc -l; }           # bytes per instance
per_million() { echo "scale=2; $1 * 1000000 / $2 / 1073741824" | bc -l; }  # GiB per 10^6

# 8x8 images: the catalog's cost per instance does not depend on pixel count.
"$DCMFS" synth "$WORK/dicom" --rows 8 --columns 8 --ct-slices "$SLICES" --mr-slices "$SLICES" >/dev/null
files=$(find "$WORK/dicom" -type f | wc -l)

mkdir -p "$WORK/archive"
printf "backend = directory\ndirectory = %s\n" "$WORK/bucket" >"$WORK/archive/store.conf"
t_pub=$(seconds "$DCMFS" ingest --no-progress "$WORK/archive" "$WORK/dicom")
t_local=$(seconds "$DCMFS" ingest --no-progress "$WORK/local" "$WORK/dicom")
n=$("$DCMFS" status "$WORK/archive" | awk '/^instances:/ {print $2}')
(( n > 0 )) || { echo "nothing ingested" >&2; exit 1; }

idx="$WORK/archive/index"
sst=$(bytes "$idx" -maxdepth 1 -name '*.sst')
wal=$(bytes "$idx" -name '*.log' -not -name 'LOG*')
# Full compaction of every column family with RocksDB's own tool.
cfs=$(ldb --db="$idx" list_column_families 2>/dev/null | tr -d '{}' | tail -1 | tr ',' '\n' | tr -d ' ')
for cf in $cfs; do ldb --db="$idx" --column_family="$cf" compact >/dev/null 2>&1; done
sst_compacted=$(bytes "$idx" -maxdepth 1 -name '*.sst')
log=$(bytes "$WORK/bucket/index/log")
objects=$(find "$WORK/bucket/index/log" -type f | wc -l)
# What compressing the log objects would save (zstd -3, as blobs use).
log_zstd=$(find "$WORK/bucket/index/log" -type f -exec zstd -3 -q -c {} \; | wc -c)
t_attach_log=$(seconds "$DCMFS" attach "$WORK/replica-log" --store-dir "$WORK/bucket")
# A full checkpoint: `dcmfs reindex` starts a new history with one, which is
# what a reader downloads when it attaches to an established archive.
t_reindex=$(seconds "$DCMFS" reindex "$WORK/archive")
db=$(sed -n 's/^db //p' "$WORK/bucket/index/LATEST")
checkpoint=$(bytes "$WORK/bucket/index/sst/$db" "$WORK/bucket/index/checkpoints/$db")
t_attach=$(seconds "$DCMFS" attach "$WORK/replica" --store-dir "$WORK/bucket")
n_replica=$("$DCMFS" status "$WORK/replica" | awk '/^instances:/ {print $2}')
replica_tables=$(bytes "$WORK/replica/index" -maxdepth 1 -name '*.sst')

echo "instances:                 $n (from $files files; replica after attach: $n_replica)"
echo "RocksDB tables, as left:   $sst B = $(per "$sst" "$n") B/instance = $(per_million "$sst" "$n") GiB per million"
echo "RocksDB tables, compacted: $sst_compacted B = $(per "$sst_compacted" "$n") B/instance = $(per_million "$sst_compacted" "$n") GiB per million"
echo "writer WAL kept for the log: $wal B"
echo "index log:                 $log B in $objects objects = $(per "$log" "$n") B/instance = $(per_million "$log" "$n") GiB per million"
echo "index log if zstd -3'd:    $log_zstd B = $(per "$log_zstd" "$n") B/instance"
echo "full checkpoint (reindex): $checkpoint B = $(per "$checkpoint" "$n") B/instance = $(per_million "$checkpoint" "$n") GiB per million"
echo "replica tables after attach: $replica_tables B"
printf 'ingest, log published:     %.2f s = %.0f instances/s\n' "$t_pub" "$(echo "$n / $t_pub" | bc -l)"
printf 'ingest, local only:        %.2f s = %.0f instances/s\n' "$t_local" "$(echo "$n / $t_local" | bc -l)"
printf 'dcmfs attach, replaying the whole log:  %.2f s\n' "$t_attach_log"
printf 'dcmfs attach, full checkpoint + no log: %.2f s\n' "$t_attach"
printf 'dcmfs reindex (new history, checkpoint): %.2f s\n' "$t_reindex"
