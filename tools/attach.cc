#include "tools/attach.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "index/archive_layout.h"
#include "index/archive_replica.h"
#include "tools/commands.h"

namespace dcmfs::tools {
namespace {

int Refuse(const std::string& message) {
  std::cerr << "dcmfs attach: " << message << "\n";
  return kExitFailure;
}

}  // namespace

int Attach(const AttachArgs& args) {
  namespace stdfs = std::filesystem;
  std::error_code ec;
  if (stdfs::exists(args.archive, ec) && !stdfs::is_empty(args.archive, ec)) {
    return Refuse(args.archive + ": exists and is not empty (a replica gets a folder of its own)");
  }
  if (args.store_dir.empty()) return Refuse("name the store: --store-dir PATH");
  stdfs::create_directories(args.archive, ec);
  if (ec) return Refuse("cannot create " + args.archive + ": " + ec.message());
  {
    std::ofstream conf(args.archive + "/store.conf");
    conf << "# The object store this archive is kept on (docs/semantics.md).\n"
         << "directory = " << stdfs::absolute(args.store_dir, ec).string() << "\n";
    if (!conf) return Refuse("cannot write " + args.archive + "/store.conf");
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
