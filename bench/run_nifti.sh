#!/usr/bin/env bash
# One command: series.nii from a fresh mount vs dcm2niix on the same series
# (synthetic 512x512xN CT, the same in JPEG 2000 lossless, the corpus' largest
# series); medians, ratios,
# daemon peak RSS. Usage: bash bench/run_nifti.sh [REPEATS] [SLICES] [BIG_SLICES] [--random-only]
#   [--baseline OTHER_DCMFS] [--no-corpus] [--no-j2k]
# BIG_SLICES (e.g. 8200: a 4.1 GiB volume) adds the peak-RSS read of a big volume.
# --baseline measures another build's random reads in the same runs (before/after).
set -euo pipefail
cd "$(dirname "$0")/.."
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
exec /usr/bin/python3 bench/nifti_bench.py --dcmfs "$DCMFS" --repeats "${1:-3}" --slices "${2:-1000}" \
  --big-slices "${3:-0}" "${@:4}"
