// The catalog's on-disk format: keys and values of each column family.
//
// Column families (index/catalog_rocksdb.cc):
//   patients   patient key (64 hex)                 -> PatientRecord (CBOR)
//   studies    StudyInstanceUID                     -> StudyRecord (CBOR)
//   series     SeriesInstanceUID                    -> SeriesRecord (CBOR)
//   instances  series UID '\0' digest (32 bytes)     -> InstanceRecord (CBOR)
//   blobs      digest (32 bytes)                    -> BlobRecord (CBOR)
//   sops       SOPInstanceUID '\0' digest (32 bytes) -> "" (finds same-UID instances)
//   names      parent ino (8 bytes BE) name         -> DirEntry value (fixed LE, below)
//   groups     parent ino (8 bytes BE) base name    -> CBOR array of member identities
//   meta       "counts"                              -> Counts (CBOR)
//   meta       "ih/" series UID '\0' digest (32 bytes) -> ImageHeader record
//              (codecs/image_header_record.h; index/internal/image_headers.h)
// CBOR maps use short keys and leave out empty fields. Big-endian inode
// prefixes keep one folder's entries contiguous, so List is a prefix scan.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codecs/sha256.h"
#include "index/catalog.h"
#include "index/records.h"

namespace dcmfs::internal {

// Where an instance's record lives, found from its digest alone.
struct BlobRecord {
  std::string series_uid;
  std::string sop_uid;
  uint64_t size = 0;
  int64_t mtime = 0;
};

std::string DigestBytes(const Digest& digest);
std::string DirentKey(InodeId parent, std::string_view name);
std::string ParentPrefix(InodeId parent);  // 8 bytes
std::string InstanceKey(std::string_view series_uid, const Digest& digest);
std::string SopKey(std::string_view sop_uid, const Digest& digest);

// DirEntry value: ino u64 | kind u8 | view u8 | size u64 | mtime i64 | ref bytes.
std::string EncodeDirEntry(const DirEntry& entry);
Result<DirEntry> DecodeDirEntry(std::string_view key, std::string_view value);

std::string EncodePatient(const PatientRecord& r);
Result<PatientRecord> DecodePatient(std::string_view v);
std::string EncodeStudy(const StudyRecord& r);
Result<StudyRecord> DecodeStudy(std::string_view v);
std::string EncodeSeries(const SeriesRecord& r);
Result<SeriesRecord> DecodeSeries(std::string_view v);
std::string EncodeInstance(const InstanceRecord& r);
Result<InstanceRecord> DecodeInstance(std::string_view v);
std::string EncodeBlob(const BlobRecord& r);
Result<BlobRecord> DecodeBlob(std::string_view v);
std::string EncodeGroup(const std::vector<std::string>& members);
Result<std::vector<std::string>> DecodeGroup(std::string_view v);
std::string EncodeCounts(const Catalog::Counts& c);
Result<Catalog::Counts> DecodeCounts(std::string_view v);

}  // namespace dcmfs::internal
