// Per-instance image header records (codecs/image_header_record.h) in the
// catalog, so a volume plan needs no blob reads (Catalog::
// ForEachImageHeaderInSeries). They live in the `meta` column family under
// their own prefix, series first so one series' records are one prefix scan:
//   "ih/" SeriesInstanceUID '\0' digest (32 bytes) -> encoded ImageHeader
// The names/instances scans of listing never touch them, and an archive
// indexed before they existed simply has none (readers fall back to the
// blob). They ride in AddInstance's WriteBatch, so the index log carries them
// to replicas like any other catalog write.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "codecs/image_header.h"
#include "codecs/instance_meta.h"
#include "codecs/sha256.h"
#include "index/internal/db.h"

namespace dcmfs::internal {

std::string ImageHeaderKey(std::string_view series_uid, const Digest& digest);

// The header to record for an instance being indexed, from the whole file in
// memory or from the file at `path`: none for instances without pixels, nor
// when it does not parse (volume planning then reads the blob and says why).
std::optional<ImageHeader> HeaderToRecord(const InstanceMeta& meta, std::span<const uint8_t> file);
std::optional<ImageHeader> HeaderToRecordFile(const InstanceMeta& meta, const std::string& path);

// Visits the records of one series in digest order until `visit` returns false.
Status ScanImageHeaders(const Db& db, std::string_view series_uid,
                        const std::function<bool(const Digest&, std::string_view)>& visit);

}  // namespace dcmfs::internal
