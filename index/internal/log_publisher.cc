// Writer half of the shared index log. The WAL is the source: every
// committed WriteBatch is read back with DB::GetUpdatesSince, so publication
// needs no hook in the write path and resumes after a kill from whatever the
// store already holds (docs/semantics.md, "One archive, many mounts").
#include "index/internal/log_publisher.h"

#include <rocksdb/transaction_log.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "base/log.h"
#include "index/internal/log_format.h"
#include "index/internal/log_gc.h"
#include "index/writer_lease.h"

namespace dcmfs::internal {
namespace {

namespace stdfs = std::filesystem;

std::map<uint32_t, std::string> Families(const Db& db) {
  std::map<uint32_t, std::string> out;
  for (auto* h : db.handles()) out[h->GetID()] = h->GetName();
  return out;
}

}  // namespace

LogPublisher::LogPublisher(Db& db, IndexLogOptions options, std::string scratch_dir)
    : db_(db), options_(std::move(options)), scratch_dir_(std::move(scratch_dir)) {}

LogPublisher::~LogPublisher() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Status s = PublishNow();
  if (!s.ok()) DCMFS_LOG(Warning) << "index log: last publication failed: " << s.ToString();
}

void LogPublisher::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void LogPublisher::Loop() {
  // A thread entry point: nothing may escape it (STYLE: threads catch).
  try {
    std::string last_error;
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      lock.unlock();
      Status s = PublishNow();
      lock.lock();
      // One warning per distinct failure, not one a second while the store is away.
      if (!s.ok() && s.message() != last_error) {
        DCMFS_LOG(Warning) << "index log: publication failed (retrying): " << s.ToString();
      }
      if (s.ok() && !last_error.empty()) DCMFS_LOG(Info) << "index log: publishing again";
      last_error = s.ok() ? "" : s.message();
    }
  } catch (const std::exception& e) {
    DCMFS_LOG(Error) << "index log: publisher thread stopped: " << e.what();
  } catch (...) {
    DCMFS_LOG(Error) << "index log: publisher thread stopped by an unknown exception";
  }
}

uint64_t LogPublisher::published_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}

Status LogPublisher::PublishNow() {
  std::lock_guard<std::mutex> lock(mu_);
  return PublishLocked();
}

Status LogPublisher::CheckpointNow() {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(PublishLocked());
  return CheckpointLocked(false);
}

// Finds where the store's log ends: LATEST names the newest checkpoint and
// the log object before it, so only the objects since then are listed.
Status LogPublisher::ResumeLocked() {
  RETURN_IF_ERROR(FromRocks(db_.db()->GetDbIdentity(db_id_), "index log: database identity"));
  ObjectStore& store = *options_.store;
  const std::string latest_key = LatestKey(options_.prefix);
  Result<std::string> latest_bytes = store.Get(latest_key);
  if (!latest_bytes.ok() && !latest_bytes.status().IsNotFound()) return latest_bytes.status();
  std::optional<LatestRecord> latest;
  if (latest_bytes.ok()) {
    ASSIGN_OR_RETURN(latest, DecodeLatest(*latest_bytes, store.Describe(latest_key)));
  }
  if (!latest || latest->db_id != db_id_) {
    // An empty store, or another database's history (a reindex, a restored
    // backup): this database starts a new one with a checkpoint.
    need_checkpoint_ = true;
    resumed_ = true;
    return Status::Ok();
  }
  published_ = latest->seq;
  last_key_ = latest->log_after;
  std::string newest;
  RETURN_IF_ERROR(store.List(LogDir(options_.prefix, db_id_), latest->log_after,
                             [&](const ObjectInfo& info) {
                               newest = info.key;
                               return true;
                             }));
  if (!newest.empty()) {
    ASSIGN_OR_RETURN(std::string bytes, store.Get(newest));
    ASSIGN_OR_RETURN(LogObject object, DecodeLogObject(bytes, store.Describe(newest)));
    published_ = std::max(published_, object.records.back().last());
    last_key_ = newest;
  }
  if (db_.db()->GetLatestSequenceNumber() < published_) {
    return Status::Corruption("index log: " + db_.path() + " is older than the log in " +
                              store.Describe(LogDir(options_.prefix, db_id_)) +
                              " (restored from an old copy?); run `dcmfs reindex` to start a "
                              "new history");
  }
  resumed_ = true;
  DCMFS_LOG(Info) << "index log: resuming after sequence " << published_;
  return Status::Ok();
}

Status LogPublisher::PublishLocked() {
  // The fence: a writer whose lease was taken over writes nothing more.
  if (options_.lease) RETURN_IF_ERROR(options_.lease->Check());
  if (!resumed_) RETURN_IF_ERROR(ResumeLocked());
  if (need_checkpoint_) RETURN_IF_ERROR(CheckpointLocked(false));
  if (db_.db()->GetLatestSequenceNumber() <= published_) return Status::Ok();

  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  rocksdb::Status rs = db_.db()->GetUpdatesSince(published_ + 1, &it);
  if (!rs.ok()) {
    DCMFS_LOG(Warning) << "index log: WAL after sequence " << published_
                       << " is gone (" << rs.ToString() << "); publishing a checkpoint";
    return CheckpointLocked(/*skip_log=*/true);
  }
  LogObject object;
  object.families = Families(db_);
  size_t bytes = 0;
  uint64_t next = published_ + 1;
  for (; it->Valid(); it->Next()) {
    rocksdb::BatchResult batch = it->GetBatch();
    const uint64_t count = batch.writeBatchPtr->Count();
    if (count == 0 || batch.sequence + count - 1 < next) continue;  // already published
    if (batch.sequence != next) {
      DCMFS_LOG(Warning) << "index log: WAL jumps from " << next << " to " << batch.sequence
                         << "; publishing a checkpoint";
      if (!object.records.empty()) {
        RETURN_IF_ERROR(PutLogObjectLocked(EncodeLogObject(object), object.records.front().seq,
                                           object.records.back().last()));
      }
      return CheckpointLocked(/*skip_log=*/true);
    }
    LogRecord record{batch.sequence, static_cast<uint32_t>(count),
                     batch.writeBatchPtr->Data()};
    bytes += record.rep.size();
    next = record.last() + 1;
    object.records.push_back(std::move(record));
    if (bytes >= options_.max_object_bytes) {
      RETURN_IF_ERROR(PutLogObjectLocked(EncodeLogObject(object), object.records.front().seq,
                                         object.records.back().last()));
      object.records.clear();
      bytes = 0;
    }
  }
  if (!object.records.empty()) {
    RETURN_IF_ERROR(PutLogObjectLocked(EncodeLogObject(object), object.records.front().seq,
                                       object.records.back().last()));
  }
  // The iterator ends quietly at the WAL's end, or with TryAgain where it met
  // a batch still being written ("create a new iterator to fetch the new
  // tail"): what it returned so far is published, the rest goes next time.
  // Anything else is a read error.
  if (!it->status().ok() && !it->status().IsTryAgain()) {
    return FromRocks(it->status(), "index log: reading the WAL");
  }
  if (bytes_since_checkpoint_ >= options_.checkpoint_every_bytes) return CheckpointLocked(false);
  return Status::Ok();
}

Status LogPublisher::PutLogObjectLocked(const std::string& bytes, uint64_t first, uint64_t last) {
  const std::string key = LogKey(options_.prefix, db_id_, first);
  RETURN_IF_ERROR(options_.store->Put(
      key, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  published_ = last;
  last_key_ = key;
  bytes_since_checkpoint_ += bytes.size();
  return Status::Ok();
}

Status LogPublisher::CheckpointLocked(bool skip_log) {
  const std::string dir = scratch_dir_ + "/checkpoint";
  std::error_code ec;
  stdfs::remove_all(dir, ec);
  stdfs::create_directories(scratch_dir_, ec);
  if (ec) return Status::IoError("index log: mkdir " + scratch_dir_ + ": " + ec.message());
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.db(), &raw), "index log: checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  uint64_t seq = 0;
  // log_size_for_flush 0: memtables are flushed, so the checkpoint is tables
  // (shared between checkpoints) rather than a long WAL to upload.
  RETURN_IF_ERROR(
      FromRocks(checkpoint->CreateCheckpoint(dir, 0, &seq), "index log: checkpoint " + dir));
  Status s = UploadCheckpointLocked(dir, seq, skip_log);
  stdfs::remove_all(dir, ec);
  return s;
}

Status LogPublisher::UploadCheckpointLocked(const std::string& dir, uint64_t seq,
                                            bool skip_log) {
  ObjectStore& store = *options_.store;
  const std::string cp_dir = CheckpointDir(options_.prefix, db_id_, seq);
  std::vector<CheckpointFile> files;
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
    CheckpointFile f;
    f.name = entry.path().filename().string();
    f.size = entry.file_size(ec);
    if (ec) return Status::IoError("index log: " + entry.path().string() + ": " + ec.message());
    const bool table = f.name.size() > 4 && f.name.compare(f.name.size() - 4, 4, ".sst") == 0;
    // Table files are immutable and their numbers never reused within one
    // database: each is uploaded once and shared by later checkpoints.
    f.key = table ? SstKey(options_.prefix, db_id_, f.name) : cp_dir + f.name;
    std::optional<uint64_t> have;
    if (table) {
      ASSIGN_OR_RETURN(have, store.Head(f.key));
    }
    if (!have || *have != f.size) RETURN_IF_ERROR(store.PutFile(f.key, entry.path().string()));
    files.push_back(std::move(f));
  }
  if (ec) return Status::IoError("index log: list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const CheckpointFile& a, const CheckpointFile& b) { return a.name < b.name; });
  const std::string files_bytes = EncodeFiles(files);
  LatestRecord latest;
  latest.db_id = db_id_;
  latest.seq = seq;
  latest.files_key = cp_dir + "FILES";
  if (need_checkpoint_) {
    // A new history: its log starts right after this checkpoint.
    published_ = seq;
    last_key_.clear();
  } else if (skip_log) {
    // The WAL before `seq` is gone: the log goes on after the checkpoint, and
    // a reader that finds the gap loads this checkpoint.
    published_ = std::max(published_, seq);
  }
  latest.log_after = last_key_;
  RETURN_IF_ERROR(store.Put(latest.files_key, {reinterpret_cast<const uint8_t*>(files_bytes.data()),
                                               files_bytes.size()}));
  const std::string latest_bytes = EncodeLatest(latest);
  const std::span<const uint8_t> latest_span(
      reinterpret_cast<const uint8_t*>(latest_bytes.data()), latest_bytes.size());
  // A copy beside the checkpoint: garbage collection later needs its log_after.
  RETURN_IF_ERROR(store.Put(cp_dir + "CHECKPOINT", latest_span));
  RETURN_IF_ERROR(store.Put(LatestKey(options_.prefix), latest_span));
  need_checkpoint_ = false;
  bytes_since_checkpoint_ = 0;
  DCMFS_LOG(Info) << "index log: checkpoint at sequence " << seq << " (" << files.size()
                  << " files)";
  Status gc = CollectLogGarbage(store, options_.prefix, latest);
  if (!gc.ok()) DCMFS_LOG(Warning) << "index log: removing old objects: " << gc.ToString();
  return Status::Ok();
}

}  // namespace dcmfs::internal
