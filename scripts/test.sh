#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the unit and mounted
# tests, then the parsing and ingest tests again under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900 -j2)

# Sanitizers: the code paths that eat untrusted bytes (parsing, decoding, ingest).
BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DDCMFS_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure --timeout 900 -j2 -R '^(codecs_|index_)')
