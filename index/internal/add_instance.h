// Indexing one instance: the records and directory entries it creates or
// updates, written in one RocksDB WriteBatch.
#pragma once

#include <string>

#include "base/status.h"
#include "codecs/instance_meta.h"
#include "codecs/sha256.h"
#include "index/catalog.h"
#include "index/internal/db.h"

namespace dcmfs::internal {

// Hex SHA-256 of issuer '\0' id '\0' name: a patient is who the sending
// system said, so two systems' "12345" do not merge unless the names agree.
std::string PatientKey(const InstanceMeta& meta);

// Indexes one instance (see Catalog::AddInstance). The caller serialises
// calls: groups, series and counts are read, modified and written back.
// `header` (may be null) is also recorded (index/internal/image_headers.h).
Result<AddResult> AddInstanceLocked(Db& db, const Digest& digest, uint64_t size,
                                    const InstanceMeta& meta, const ImageHeader* header);

}  // namespace dcmfs::internal
