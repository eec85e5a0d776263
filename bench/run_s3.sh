#!/usr/bin/env bash
# One command: blobs on S3 (a throwaway Ceph RADOS Gateway started here) vs
# the local backend. Ingest throughput and cold series.nii reads (synthetic
# CT, medians, ratios), a raw `curl --aws-sigv4` GET of the same objects, and
# the bytes fetched from S3 to read one 256-pixel IIIF tile of the corpus
# slide and one slice of a series.nii vs the bytes they occupy in the
# original files. Usage: bash bench/run_s3.sh [ingest] [CT_SLICES] [REPEATS]
# ("ingest": only the ingest figures, small files and one large file whose
# multipart upload runs with 1 and with 4 parts in flight).
set -euo pipefail
cd "$(dirname "$0")/.."
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || TARGETS=dcmfs bash scripts/build.sh
SERVICES=${DCMFS_CEPH_SCRIPTS:-../shared/services}
[[ -x $SERVICES/ceph-rgw-up.sh ]] || { echo "missing $SERVICES/ceph-rgw-up.sh" >&2; exit 1; }
DIR=$(mktemp -d /tmp/dcmfs-s3-bench.XXXXXX)
CEPH="$DIR/ceph"
PORT=${S3_BENCH_PORT:-7490}
BASE=${S3_BENCH_BASE_PORT:-29400}
cleanup() {
  "$SERVICES/ceph-rgw-down.sh" "$CEPH" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
ONLY=()
if [[ ${1:-} == ingest ]]; then ONLY=(--only ingest); shift; fi
CEPH_WITH_MGR=0 CEPH_NO_INSTALL=1 "$SERVICES/ceph-rgw-up.sh" "$CEPH" "$PORT" "$BASE" >/dev/null
/usr/bin/python3 bench/s3_bench.py --dcmfs "$(realpath "$DCMFS")" --env "$CEPH/s3.env" \
  --work "$DIR/work" --corpus ../shared/corpus --ct-slices "${1:-160}" --repeats "${2:-3}" "${ONLY[@]}"
