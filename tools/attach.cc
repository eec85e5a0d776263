#include "tools/attach.h"

#include <filesystem>
#include <iostream>

#include "index/archive_layout.h"
#include "index/archive_replica.h"
#include "index/store_config.h"
#include "tools/commands.h"

namespace dcmfs::tools {
namespace {

int Refuse(const std::string& message) {
  std::cerr << "dcmfs attach: " << message << "\n";
  return kExitFailure;
}

// Empty, or holding only the store.conf that --s3-* flags just wrote.
bool FreshFolder(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename() != "store.conf") return false;
  }
  return true;
}

}  // namespace

int Attach(const AttachArgs& args) {
  namespace stdfs = std::filesystem;
  const ArchiveLayout layout{args.archive};
  std::error_code ec;
  if (!FreshFolder(args.archive)) {
    return Refuse(args.archive + ": exists and is not empty (a replica gets a folder of its own)");
  }
  if (!args.store_dir.empty()) {
    stdfs::create_directories(args.archive, ec);
    if (ec) return Refuse("cannot create " + args.archive + ": " + ec.message());
    StoreConfig config;
    config.backend = StoreConfig::Backend::kDirectory;
    config.directory = stdfs::absolute(args.store_dir, ec).lexically_normal().string();
    if (Status s = SaveStoreConfig(layout, config); !s.ok()) return Refuse(s.ToString());
  }
  if (!stdfs::exists(StoreConfigPath(layout), ec)) {
    return Refuse("name the archive's store: --s3-endpoint and --s3-bucket, or --store-dir");
  }
  if (Status s = MarkReplicaArchive(args.archive); !s.ok()) return Refuse(s.ToString());
  // Builds the replica now, so the first mount starts from it.
  Result<std::unique_ptr<Catalog>> replica = OpenArchiveReplica(args.archive);
  if (!replica.ok()) return Refuse(replica.status().ToString());
  Result<Catalog::Counts> c = (*replica)->GetCounts();
  if (!c.ok()) return Refuse(c.status().ToString());
  std::cout << "attached " << args.archive << ": " << c->studies << " studies, " << c->instances
            << " instances so far; mount it with `dcmfs mount " << args.archive << " MNT`\n";
  return kExitOk;
}

}  // namespace dcmfs::tools
