// The derived-file framework: a DerivedProvider computes one kind of virtual
// file in a series folder (SHA256SUMS now; .nii, .stl, IIIF, previews and
// anonymized copies later). Providers are plain C++: no FUSE, no RocksDB.
//
// How a provider plugs in:
//   Names()   what a series folder lists (cheap: no pixel decoding); names
//             are paths relative to the series folder and may hold '/'
//             ("mpr/axial/0001.png"): the folders on the way are implied;
//   List()    the children of one virtual folder, when listing them all
//             through Names() would be wasteful (IIIF tile sets);
//   IsFolder() virtual folders that exist without being listed (IIIF
//             request paths such as "iiif/<id>/0,0,512,512");
//   Match()   whether a looked-up path is ours, with the parameters it
//             encodes (a path may resolve without being listed, e.g.
//             "mesh/iso-300.stl");
//   Produce() computes the content; DerivedFiles (derived_files.h) makes sure
//             it runs once per (series, generation, kind, params), caches it
//             in memory and, when persist() is true, in ARCHIVE/cache.
//
// Sizes: st_size must equal the bytes read, so getattr/lookup of a virtual
// file calls DerivedFiles::Get() and reports content->size(). A provider whose
// Produce() is expensive should return persist() == true so that the size is
// known from the persistent cache on later mounts, and size_is_cheap() ==
// false so that readdirplus (plain `ls`) never produces it.
//
// Hidden providers list and match nothing; other providers reach their
// results (single flight, cached, persisted) with DerivedFiles::GetByKind,
// e.g. the volume plan that series.nii, previews and meshes share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "index/inode.h"
#include "index/records.h"

namespace dcmfs {

// The produced bytes of one virtual file, read with pread semantics so that
// large outputs may stream (from the persistent cache or computed in parts).
// Thread-safe: ReadAt may run concurrently.
class DerivedContent {
 public:
  virtual ~DerivedContent() = default;
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes at `offset`; returns the count (0 at or past the end).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const = 0;
  // Bytes this object keeps in memory; bounds the in-memory LRU of DerivedFiles.
  virtual uint64_t memory_bytes() const { return size(); }
};

// Content held in a string: the simple case for small outputs.
class StringContent final : public DerivedContent {
 public:
  explicit StringContent(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override;
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class DerivedFiles;

// One child of a virtual folder.
struct VirtualChild {
  std::string name;
  bool folder = false;
  bool size_is_cheap = true;  // set by DerivedFiles::List from the provider
};

// Everything a provider may look at for one series folder. The references
// outlive the call (they belong to the Filesystem).
struct SeriesContext {
  const Catalog* catalog = nullptr;
  const BlobStore* blobs = nullptr;
  SeriesRecord series;  // series.generation keys the caches
  View view = View::kPatients;
  InodeId folder_ino = 0;  // the series folder in `view`, for Catalog::List
  // The registry itself, for GetByKind (never null in a mount; may be null in
  // unit tests of a provider that does not use it).
  DerivedFiles* derived = nullptr;
};

class DerivedProvider {
 public:
  virtual ~DerivedProvider() = default;
  // A short stable identifier, part of the cache key ("sha256sums").
  virtual std::string kind() const = 0;
  // True when the content differs between /patients and /studies (e.g. it
  // quotes file names): its inode then depends on the view as well.
  virtual bool view_dependent() const = 0;
  // Whether produced contents are worth keeping in ARCHIVE/cache.
  virtual bool persist() const = 0;
  // The names this provider adds to the series folder `ctx`.
  virtual std::vector<std::string> Names(const SeriesContext& ctx) const = 0;
  // The immediate children of the virtual folder `folder` ("" is the series
  // folder itself). Default: derived from Names().
  virtual std::vector<VirtualChild> List(const SeriesContext& ctx, std::string_view folder) const;
  // Whether `path` is a virtual folder of ours, listed or not. Default: a
  // folder on the way to one of Names().
  virtual bool IsFolder(const SeriesContext& ctx, std::string_view path) const;
  // False when the size is only known by producing the content.
  virtual bool size_is_cheap() const { return true; }
  // True when names and content carry pixel values and geometry only,
  // nothing identifying (no names, dates, UIDs, descriptions): the file may
  // then appear in /anonymized too, with the same bytes.
  virtual bool pixels_only() const { return false; }
  // The parameters encoded by `name` (a path relative to the series folder),
  // or nullopt if the name is not ours.
  // Parameters become part of the cache key, so they must capture everything
  // the content depends on besides the series generation (view included).
  virtual std::optional<std::string> Match(const SeriesContext& ctx,
                                           std::string_view name) const = 0;
  // Computes the content. May be slow; DerivedFiles calls it once per key.
  virtual Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                          std::string_view params) const = 0;
};

}  // namespace dcmfs
