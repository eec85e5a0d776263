#include "index/internal/db.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "base/log.h"

namespace dcmfs::internal {
namespace {

namespace stdfs = std::filesystem;

const std::vector<std::string>& CfNames() {
  static const std::vector<std::string> kNames = {
      rocksdb::kDefaultColumnFamilyName, "meta", "patients", "studies", "series",
      "instances", "blobs", "sops", "names", "groups"};
  return kNames;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Memory is kept modest: this runs on workstations beside a viewer. One
// block cache for all column families; small memtables.
rocksdb::Options MakeOptions(const CatalogOptions& options) {
  static const std::shared_ptr<rocksdb::Cache> kBlockCache = rocksdb::NewLRUCache(32u << 20);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = kBlockCache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::Options o;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.create_if_missing = options.create_if_missing;
  o.create_missing_column_families = true;
  o.write_buffer_size = 8u << 20;
  o.db_write_buffer_size = 32u << 20;
  o.max_background_jobs = 2;
  o.keep_log_file_num = 3;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.max_open_files = -1;  // required by secondary instances; harmless for the writer
  // The shared index log (index/index_log.h) reads the writer's WAL with
  // GetUpdatesSince, so WAL files are archived rather than deleted once
  // flushed: kept a week or up to 256 MB. A publisher that finds its WAL gone
  // publishes a checkpoint instead, so these bounds cost time, never data.
  o.WAL_ttl_seconds = 7 * 24 * 3600;
  o.WAL_size_limit_MB = 256;
  return o;
}

// A database interrupted between Reindex's two renames is at "<path>.old";
// the writer puts it back (see index/maintenance.cc).
Status RecoverInterruptedSwap(const std::string& path) {
  const std::string old = path + ".old";
  if (Exists(path + "/CURRENT") || !Exists(old + "/CURRENT")) return Status::Ok();
  DCMFS_LOG(Warning) << "catalog: recovering " << old << " left by an interrupted reindex";
  std::error_code ec;
  stdfs::remove_all(path, ec);
  if (::rename(old.c_str(), path.c_str()) != 0) return Status::FromErrno("rename " + old, errno);
  return Status::Ok();
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::Ok();
  std::string message = std::string(context) + ": " + s.ToString();
  if (s.IsIOError()) {
    std::string lower = s.ToString();
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower.find("lock") != std::string::npos) return Status::Busy(message);
    return Status::IoError(message);
  }
  if (s.IsNotFound()) return Status::NotFound(message);
  if (s.IsCorruption()) return Status::Corruption(message);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(message);
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(message);
  return Status::Internal(message);
}

namespace {

// A new catalog is built beside its final place with every column family,
// then renamed in: RocksDB adds missing column families one manifest write at
// a time, so a first ingest killed inside Open used to leave a database that
// lacked some, which no reader (mount, verify, status) could open.
Status CreateCatalog(const std::string& path, const rocksdb::Options& rocks_options) {
  const std::string staging = path + ".creating";
  std::error_code ec;
  stdfs::remove_all(staging, ec);  // a creation interrupted before its rename
  stdfs::create_directories(staging, ec);
  if (ec) return Status::IoError("mkdir " + staging + ": " + ec.message());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : CfNames()) descriptors.emplace_back(n, rocks_options);
  rocksdb::Options create = rocks_options;
  create.create_if_missing = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(create, staging, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, "create catalog " + staging);
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  s = raw->Close();
  delete raw;
  if (!s.ok()) return FromRocks(s, "create catalog " + staging);
  // A directory without CURRENT holds no database RocksDB would open.
  stdfs::remove_all(path, ec);
  if (::rename(staging.c_str(), path.c_str()) != 0) return Status::FromErrno("rename " + staging, errno);
  return Status::Ok();
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const std::string& path,
                                                        const rocksdb::Options& rocks_options,
                                                        bool follower, Status* missing) {
  // Open every column family the database has (a newer version may have added some) plus ours.
  std::vector<std::string> names = CfNames();
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(rocks_options, path, &existing).ok()) {
    for (const auto& n : names) {
      if (follower && std::find(existing.begin(), existing.end(), n) == existing.end()) {
        // A reader cannot add it, and a writer adding it empty would not
        // bring back what it should hold: reindex rebuilds the catalog whole.
        *missing = Status::Corruption(
            "catalog " + path + " lacks column family '" + n +
            "' (made by an older dcmfs or an interrupted first ingest): run `dcmfs reindex` on "
            "the archive to rebuild it from the blobs");
      }
    }
    for (const auto& n : existing) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocks_options);
  return descriptors;
}

}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const CatalogOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("catalog: empty path");
  if (!options.read_only_follower) RETURN_IF_ERROR(RecoverInterruptedSwap(options.path));
  const bool exists = Exists(options.path + "/CURRENT");
  if (!exists && (options.read_only_follower || !options.create_if_missing)) {
    return Status::NotFound("catalog: no index at " + options.path);
  }
  const rocksdb::Options rocks_options = MakeOptions(options);
  if (!exists) RETURN_IF_ERROR(CreateCatalog(options.path, rocks_options));
  Status missing = Status::Ok();
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors =
      Descriptors(options.path, rocks_options, options.read_only_follower, &missing);
  RETURN_IF_ERROR(missing);

  std::unique_ptr<Db> db(new Db());
  db->path_ = options.path;
  db->follower_ = options.read_only_follower;
  rocksdb::Status s;
  if (options.read_only_follower) {
    std::string secondary = options.secondary_path;
    if (secondary.empty()) {
      std::string tmpl = "/tmp/dcmfs-secondary-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno("mkdtemp", errno);
      secondary = db->owned_secondary_path_ = tmpl;
    }
    s = rocksdb::DB::OpenAsSecondary(rocks_options, options.path, secondary, descriptors,
                                     &db->handles_, &db->db_);
  } else {
    s = rocksdb::DB::Open(rocks_options, options.path, descriptors, &db->handles_, &db->db_);
  }
  if (!s.ok()) return FromRocks(s, "open catalog " + options.path);
  // Ours come first, in Cf order, as the descriptors were listed.
  return db;
}

Db::~Db() {
  if (db_ != nullptr) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    delete db_;
  }
  if (!owned_secondary_path_.empty()) {
    std::error_code ec;
    stdfs::remove_all(owned_secondary_path_, ec);
  }
}

Result<std::optional<std::string>> Db::Get(Cf c, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[c],
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "catalog read");
  return std::optional<std::string>(std::move(value));
}

}  // namespace dcmfs::internal
