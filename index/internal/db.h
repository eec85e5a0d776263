// The RocksDB database behind the catalog: opening it (writer or secondary
// follower) and its column families. Private to index/; see
// index/internal/codec.h for what each column family holds.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "index/catalog.h"

namespace dcmfs::internal {

enum Cf : size_t {
  kCfDefault = 0,
  kCfMeta,
  kCfPatients,
  kCfStudies,
  kCfSeries,
  kCfInstances,
  kCfBlobs,
  kCfSops,
  kCfNames,
  kCfGroups,
  kCfCount,
};

inline constexpr std::string_view kCountsKey = "counts";

// Converts a RocksDB status; IOErrors about the LOCK file become Busy.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

class Db {
 public:
  // Errors as Catalog::Open.
  static Result<std::unique_ptr<Db>> Open(const CatalogOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }
  // Every column family open, ours first (in Cf order), then any other the
  // database has.
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }
  bool follower() const { return follower_; }
  const std::string& path() const { return path_; }

  // The value, nullopt if absent, or an error.
  Result<std::optional<std::string>> Get(Cf c, std::string_view key) const;

 private:
  Db() = default;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  bool follower_ = false;
  std::string path_;
  std::string owned_secondary_path_;  // removed on close
};

// The database behind a catalog from Catalog::Open; nullptr for any other
// Catalog (a replica's wrapper, a test double).
Db* DbOf(Catalog& catalog);

}  // namespace dcmfs::internal
