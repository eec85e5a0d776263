#!/usr/bin/env bash
# Builds the ingest fuzzer with clang (libFuzzer + ASan + UBSan) and runs it
# for SECONDS (default 60), seeded with ../shared/corpus and the synthetic set.
# Findings (crash-*, leak-*) land in fuzz/findings/. Usage: bash fuzz/run.sh [SECONDS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
JOBS=${2:-1}
CC=clang CXX=clang++ BUILD_DIR=build-fuzz BUILD_TYPE=RelWithDebInfo TARGETS="ingest_fuzzer dcmfs" \
  bash scripts/build.sh -DDCMFS_FUZZ=ON -DDCMFS_SANITIZE=ON
SEEDS=build-fuzz/seeds
if [[ ! -d $SEEDS ]]; then
  mkdir -p "$SEEDS"
  build-fuzz/tools/dcmfs synth --rows 16 --columns 16 --ct-slices 2 --mr-slices 2 build-fuzz/synth >/dev/null
  find build-fuzz/synth -type f -exec cp {} "$SEEDS"/ \; 2>/dev/null || true
  if [[ -d ../shared/corpus ]]; then
    # Small files only: libFuzzer mutates better, and large mosaics slow every run.
    find ../shared/corpus -type f -size -256k | while read -r f; do cp "$f" "$SEEDS/$(sha256sum "$f" | cut -c1-16)"; done
  fi
fi
mkdir -p build-fuzz/corpus-run fuzz/findings
PARALLEL=()
((JOBS > 1)) && PARALLEL=(-jobs="$JOBS" -workers="$JOBS")  # each job logs to fuzz-N.log here
ASAN_OPTIONS=detect_leaks=0 build-fuzz/fuzz/ingest_fuzzer build-fuzz/corpus-run "$SEEDS" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=1048576 -timeout=30 -rss_limit_mb=4096 \
  "${PARALLEL[@]}" -artifact_prefix=fuzz/findings/ -print_final_stats=1
