// A consistent copy of an archive, taken while it is mounted and receiving.
//
// The catalog is copied as a RocksDB checkpoint taken through a secondary
// (follower) instance, so no writer has to stop and none is locked out: the
// checkpoint holds every catalog write made durable before Backup started
// (every instance a Receiver or the SCP acknowledged, every finished ingest).
// Blobs are listed after the checkpoint, so every blob the checkpoint indexes
// is already there (a blob is durable before it is indexed); blobs written
// later may come along and are then merely "unindexed" (dcmfs verify says so,
// dcmfs reindex takes them in). Blobs and quarantined files are immutable, so
// they are hard-linked when DEST is on the same filesystem (no bytes copied),
// else copied and fsynced. The secret is copied with mode 0600. The derived
// cache and temporary files are left out: they are rebuilt on demand.
//
// DEST is an archive: mount it, verify it, or restore by backing it up again
// to where the archive should live. It is assembled in DEST.partial and
// renamed to DEST at the end, so an interrupted backup never looks complete.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace dcmfs {

struct BackupOptions {
  // Hard-link immutable files when possible. False: always copy (a backup
  // that shares no inode with the archive, e.g. to survive a bit flip in it).
  bool hard_links = true;
};

struct BackupReport {
  uint64_t instances = 0;     // indexed in the copied catalog
  uint64_t blobs = 0;
  uint64_t files_linked = 0;  // blobs and quarantine files hard-linked
  uint64_t files_copied = 0;
  uint64_t bytes_copied = 0;
};

// Errors: NotFound (no archive at `archive_root`), AlreadyExists (DEST exists
// and is not an empty folder), IoError, and Corruption if an indexed blob is
// missing from the archive (the copy is then left in DEST.partial).
Result<BackupReport> Backup(const std::string& archive_root, const std::string& dest,
                            const BackupOptions& options = {});

}  // namespace dcmfs
