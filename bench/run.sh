#!/usr/bin/env bash
# One command: builds dcmfs (if needed) and benchmarks ingest, read and
# metadata side by side with cp, a plain directory and find on the same
# files, printing medians and ratios. Usage: bash bench/run.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/tools/dcmfs ]] || bash scripts/build.sh
exec python3 bench/fs_bench.py --dcmfs build/tools/dcmfs --repeats "${1:-5}"
