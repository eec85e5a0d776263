// The archive's secret: 32 random bytes in ARCHIVE/secret (mode 0600) that
// key every pseudonym, UID mapping and date shift of the anonymized view
// (codecs/deidentify.h DeidKeys). Whoever holds it can re-link anonymized
// data to the archive, so it is never shown by the mount and never logged.
#pragma once

#include <string>

#include "base/status.h"

namespace dcmfs {

inline constexpr size_t kArchiveSecretBytes = 32;

// Reads ARCHIVE/secret (raw bytes). If it does not exist, creates it from
// /dev/urandom: written to a temp file (O_EXCL, 0600), fsynced, then linked
// to its final name (link(2) never replaces: if another process created the
// secret first, theirs is read and ours discarded), and the folder fsynced.
// Errors: IoError when it is missing and cannot be created (read-only
// archive, permissions) or cannot be read; Corruption if the file exists but
// is empty. Thread-safe and safe across processes.
Result<std::string> LoadOrCreateArchiveSecret(const std::string& archive_root);

}  // namespace dcmfs
