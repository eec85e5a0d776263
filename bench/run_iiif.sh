#!/usr/bin/env bash
# One command: every level-0 IIIF tile of a synthetic RGB image and of a
# synthetic whole-slide pyramid through the mount (cold, warm) vs
# `vips dzsave --layout iiif3` on the same pixels; wrk/curl latency of tiles
# over nginx. Usage: bash bench/run_iiif.sh [BIG_WxH] [WSI_WxH] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
exec /usr/bin/python3 bench/iiif_bench.py --dcmfs "$(realpath "$DCMFS")" --big "${1:-20000x15000}" \
  --wsi "${2:-10240x7680}" --repeats "${3:-1}"
