#!/usr/bin/env bash
# One command: mesh/bone.stl of a synthetic 512x512x600 CT, cold through the
# mount, vs VTK's vtkFlyingEdges3D + STL writer on the same volume and
# threshold; medians, ratio and peak RSS (bench/mesh_bench.py).
# Usage: bash bench/run_mesh.sh [REPEATS] [--slices N]
set -euo pipefail
cd "$(dirname "$0")/.."
DCMFS=${DCMFS:-${BUILD_DIR:-build}/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
exec /usr/bin/python3 bench/mesh_bench.py --dcmfs "$DCMFS" --repeats "${1:-3}" "${@:2}"
