#include "index/internal/log_gc.h"

#include <set>
#include <vector>

namespace dcmfs::internal {
namespace {

// Keys below `dir` (which ends in '/').
Result<std::vector<std::string>> KeysUnder(const ObjectStore& store, const std::string& dir) {
  std::vector<std::string> keys;
  RETURN_IF_ERROR(store.List(dir, "", [&](const ObjectInfo& info) {
    keys.push_back(info.key);
    return true;
  }));
  return keys;
}

Status DeleteAll(ObjectStore& store, const std::vector<std::string>& keys) {
  for (const std::string& k : keys) RETURN_IF_ERROR(store.Delete(k));
  return Status::Ok();
}

}  // namespace

Status CollectLogGarbage(ObjectStore& store, const std::string& prefix,
                         const LatestRecord& newest) {
  // This database's checkpoints, oldest first (20-digit sequence folders).
  const std::string cp_root = prefix + "checkpoints/" + newest.db_id + "/";
  ASSIGN_OR_RETURN(std::vector<std::string> cp_keys, KeysUnder(store, cp_root));
  std::set<std::string> cp_dirs;
  for (const std::string& k : cp_keys) cp_dirs.insert(k.substr(0, k.rfind('/') + 1));
  if (cp_dirs.size() < 2) return Status::Ok();  // nothing older than the one before
  const std::string previous_dir = *std::prev(cp_dirs.end(), 2);
  const std::string previous_key = previous_dir + "CHECKPOINT";
  ASSIGN_OR_RETURN(std::string previous_bytes, store.Get(previous_key));
  ASSIGN_OR_RETURN(LatestRecord previous,
                   DecodeLatest(previous_bytes, store.Describe(previous_key)));

  // Tables either kept checkpoint names.
  std::set<std::string> keep_tables;
  for (const std::string& files_key : {newest.files_key, previous.files_key}) {
    ASSIGN_OR_RETURN(std::string bytes, store.Get(files_key));
    ASSIGN_OR_RETURN(std::vector<CheckpointFile> files,
                     DecodeFiles(bytes, store.Describe(files_key)));
    for (const CheckpointFile& f : files) keep_tables.insert(f.key);
  }
  std::vector<std::string> doomed;
  for (const std::string& k : cp_keys) {
    if (k < previous_dir) doomed.push_back(k);
  }
  // Log objects up to the older checkpoint's log_after hold nothing newer than it.
  if (!previous.log_after.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> log_keys,
                     KeysUnder(store, LogDir(prefix, newest.db_id)));
    for (const std::string& k : log_keys) {
      if (k <= previous.log_after) doomed.push_back(k);
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> tables,
                   KeysUnder(store, prefix + "sst/" + newest.db_id + "/"));
  for (const std::string& k : tables) {
    if (keep_tables.count(k) == 0) doomed.push_back(k);
  }
  // Earlier histories (before a reindex): this one is established.
  for (const char* kind : {"log/", "checkpoints/", "sst/"}) {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, KeysUnder(store, prefix + kind));
    const std::string ours = prefix + kind + newest.db_id + "/";
    for (const std::string& k : keys) {
      if (k.rfind(ours, 0) != 0) doomed.push_back(k);
    }
  }
  return DeleteAll(store, doomed);
}

}  // namespace dcmfs::internal
