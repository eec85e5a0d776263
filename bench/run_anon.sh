#!/usr/bin/env bash
# One command: builds dcmfs (if needed) and benchmarks reading the anonymized
# view against the identified view and against dcmodify/gdcmanon on a copy,
# printing medians and ratios. Usage: bash bench/run_anon.sh [REPEATS] [--corpus]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/tools/dcmfs ]] || bash scripts/build.sh
exec python3 bench/anon_bench.py --dcmfs "${DCMFS:-build/tools/dcmfs}" --repeats "${1:-5}" "${@:2}"
