#!/usr/bin/env bash
# Installs everything dcmfs needs to build, test and benchmark on Debian 12.
# Run as root. Skips apt entirely when every package is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libfuse3-dev fuse3
  libdcmtk-dev dcmtk
  librocksdb-dev libzstd-dev zstd libssl-dev
  # ldb/sst_dump: bench/index_size.sh measures the catalog with RocksDB's own tools
  rocksdb-tools
  libopenjp2-7-dev libturbojpeg0-dev libpng-dev libwebp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  clang libclang-rt-14-dev
  rsync attr tar coreutils findutils procps time tree
  python3 python3-pydicom
  util-linux libgdcm-tools libcharls2
  # reference tools the tests and benchmarks compare against
  dcm2niix python3-nibabel python3-numpy python3-vtk9 admesh
  nginx libvips-tools wrk orthanc python3-pil python3-lxml python3-bottle chromium
  libcurl4-openssl-dev zip unzip
  # S3 blob store tests: a throwaway Ceph cluster with its gateway (../shared/services)
  ceph-mon ceph-osd ceph-mgr radosgw ceph-common
  # .zip archives given to dcmfs ingest
  libzip-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# FUSE needs its device; containers sometimes lack the node even when the module is there.
if [[ ! -e /dev/fuse ]]; then
  mknod -m 666 /dev/fuse c 10 229 2>/dev/null || echo "warning: /dev/fuse is missing; mounts will fail" >&2
fi
