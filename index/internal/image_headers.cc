#include "index/internal/image_headers.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>

namespace dcmfs::internal {
namespace {

constexpr std::string_view kPrefix = "ih/";

std::string SeriesPrefix(std::string_view series_uid) {
  std::string key(kPrefix);
  key.append(series_uid);
  key.push_back('\0');
  return key;
}

// Volume planning (fs/derived/volume_providers.cc) reads headers of exactly these.
bool WantsHeader(const InstanceMeta& meta) { return meta.has_pixel_data && meta.rows > 0; }

template <typename T>
std::optional<ImageHeader> OrNone(Result<T> r) {
  if (!r.ok()) return std::nullopt;
  return std::move(*r);
}

}  // namespace

std::optional<ImageHeader> HeaderToRecord(const InstanceMeta& meta, std::span<const uint8_t> file) {
  if (!WantsHeader(meta)) return std::nullopt;
  return OrNone(ParseImageHeaderWhole(file));
}

std::optional<ImageHeader> HeaderToRecordFile(const InstanceMeta& meta, const std::string& path) {
  if (!WantsHeader(meta)) return std::nullopt;
  return OrNone(ReadImageHeaderFile(path));
}

std::string ImageHeaderKey(std::string_view series_uid, const Digest& digest) {
  std::string key = SeriesPrefix(series_uid);
  key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return key;
}

Status ScanImageHeaders(const Db& db, std::string_view series_uid,
                        const std::function<bool(const Digest&, std::string_view)>& visit) {
  const std::string prefix = SeriesPrefix(series_uid);
  // The prefix's successor bounds the scan: '\0' + 1.
  std::string upper = prefix;
  upper.back() = '\1';
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(options, db.cf(kCfMeta)));
  for (it->Seek(rocksdb::Slice(prefix)); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != prefix.size() + 32) continue;  // not a record of this layout
    Digest digest{};
    std::copy_n(key.data() + prefix.size(), 32, digest.begin());
    if (!visit(digest, it->value().ToStringView())) return Status::Ok();
  }
  return FromRocks(it->status(), "catalog scan of image headers");
}

}  // namespace dcmfs::internal
