#!/usr/bin/env bash
# One command: series.nii from a fresh mount vs dcm2niix on the same series
# (synthetic 512x512xN CT and the corpus' largest series); medians, ratios,
# daemon peak RSS. Usage: bash bench/run_nifti.sh [REPEATS] [SLICES]
set -euo pipefail
cd "$(dirname "$0")/.."
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
exec /usr/bin/python3 bench/nifti_bench.py --dcmfs "$DCMFS" --repeats "${1:-3}" --slices "${2:-1000}"
