#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the unit and mounted
# tests, then the parsing and ingest tests again under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure --no-tests=error --timeout 900 -j2)

# Sanitizers: the code paths that eat untrusted bytes (parsing, decoding, ingest).
# Unit tests of codecs/ and index/, plus the mounted ingest tests (bad input,
# kill -9, the whole shared corpus) with an instrumented dcmfs.
ASAN_TESTS="$(cd tests && ls codecs/*_test.cc index/*_test.cc | sed -E 's#(.*)/(.*)\.cc#\1_\2#' | tr '\n' ' ')"
# recon/ and mesh/ unit tests: header planning and meshing of odd geometry.
ASAN_TESTS+=" recon_volume_plan_test recon_mpr_test mesh_isosurface_test mesh_contours_test"
# (The mounted corpus test runs in the plain build only: under ASan its walk
# of every series folder outgrew the time budget once derived files arrived;
# the pixel corpus test above still decodes every corpus file under ASan.)
ASAN_TESTS+=" integration_ingest_robustness_test"
BUILD_DIR=build-asan BUILD_TYPE=Debug TARGETS="dcmfs $ASAN_TESTS" \
  bash scripts/build.sh -DDCMFS_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure --no-tests=error --timeout 900 -j2 -R "^($(echo $ASAN_TESTS | tr ' ' '|'))\\.")
