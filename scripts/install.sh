#!/usr/bin/env bash
# Installs a built dcmfs system-wide (as root): the binary, the mount(8)
# helper for `mount -t fuse.dcmfs` and /etc/fstab, the systemd unit, an
# example configuration and the documentation. Build first (scripts/build.sh).
#   PREFIX=/usr/local (binary in $PREFIX/bin)   BUILD_DIR=build
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
BUILD_DIR=${BUILD_DIR:-build}
SBIN=${SBIN:-/sbin}                       # where mount(8) looks for mount.fuse.TYPE
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}

install -D -m 755 "$BUILD_DIR/tools/dcmfs" "$PREFIX/bin/dcmfs"
sed "s|@DCMFS_BIN@|$PREFIX/bin/dcmfs|" packaging/mount.fuse.dcmfs > "$SBIN/mount.fuse.dcmfs"
chmod 755 "$SBIN/mount.fuse.dcmfs"
if [[ -d "$(dirname "$UNIT_DIR")" ]]; then
  sed "s|/usr/local/bin/dcmfs|$PREFIX/bin/dcmfs|" packaging/dcmfs@.service > "$UNIT_DIR/dcmfs@.service"
  command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
fi
install -d /etc/dcmfs
[[ -e /etc/dcmfs.conf ]] || install -m 644 packaging/dcmfs.conf.example /etc/dcmfs.conf
install -D -m 644 docs/README.md "$PREFIX/share/doc/dcmfs/README.md"
install -D -m 644 docs/semantics.md "$PREFIX/share/doc/dcmfs/semantics.md"
echo "installed: $PREFIX/bin/dcmfs, $SBIN/mount.fuse.dcmfs, $UNIT_DIR/dcmfs@.service, /etc/dcmfs.conf"
