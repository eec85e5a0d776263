// /.dcmfs/stats.json: what the mount and its archive hold, for operators.
#include <nlohmann/json.hpp>

#include "fs/filesystem.h"

namespace dcmfs {
namespace {

// Snapshots are reused this long, so that getattr and the following open of
// stats.json see the same bytes (st_size must equal what read returns).
constexpr std::chrono::seconds kStatsSnapshotLifetime{1};

nlohmann::json CacheStatsJson(const DerivedCacheStats& s) {
  return {{"hits", s.hits},       {"misses", s.misses},       {"entries", s.entries},
          {"bytes", s.bytes},     {"evictions", s.evictions}, {"max_bytes", s.max_bytes}};
}

}  // namespace

std::string Filesystem::StatsJson() {
  nlohmann::json j;
  j["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
  Result<Catalog::Counts> counts = catalog_->GetCounts();
  if (counts.ok()) {
    j["archive"] = {{"patients", counts->patients}, {"studies", counts->studies},
                    {"series", counts->series},     {"instances", counts->instances},
                    {"bytes", counts->bytes}};
  } else {
    j["archive"] = {{"error", counts.status().ToString()}};
  }
  DerivedFilesStats d = derived_->Stats();
  j["derived"] = {{"produced", d.produced},
                  {"failed", d.failed},
                  {"memory_hits", d.memory_hits},
                  {"shared_waits", d.shared_waits},
                  {"persistent_hits", d.persistent_hits},
                  {"memory_entries", d.memory_entries},
                  {"memory_bytes", d.memory_bytes}};
  std::optional<DerivedCacheStats> persistent = derived_->PersistentStats();
  j["derived_cache"] = persistent ? CacheStatsJson(*persistent) : nlohmann::json(nullptr);
  // What the blob store fetched from remote storage (all zero for a local
  // archive): the figure the S3 benchmark reads to count bytes per tile/slice.
  const BlobStoreStats b = blobs_->Stats();
  j["blob_store"] = {{"requests", b.requests},
                     {"bytes_fetched", b.bytes_fetched},
                     {"frame_hits", b.frame_hits},
                     {"frame_misses", b.frame_misses},
                     {"disk_hits", b.disk_hits},
                     {"disk_corrupt", b.disk_corrupt},
                     {"disk_bytes", b.disk_bytes},
                     {"disk_evictions", b.disk_evictions}};
  j["inodes_known"] = inodes_.size();
  // Whether /anonymized is served (off when the archive secret is unavailable).
  j["anonymized_view"] = anon_ != nullptr;
  std::vector<std::pair<std::string, std::function<std::string()>>> sections;
  {
    std::lock_guard lock(sections_mu_);
    sections = stats_sections_;
  }
  for (const auto& [key, json] : sections) {
    const std::string text = json();
    j[key] = text.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(text, nullptr, false);
  }
  // Names and IDs never appear here: only counts (STYLE: no patient identifiers).
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void Filesystem::SetStatsSection(std::string key, std::function<std::string()> json) {
  std::lock_guard lock(sections_mu_);
  stats_sections_.emplace_back(std::move(key), std::move(json));
}

std::shared_ptr<StringContent> Filesystem::StatsSnapshot() {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(stats_mu_);
    if (stats_snapshot_ && now - stats_taken_ < kStatsSnapshotLifetime) return stats_snapshot_;
  }
  // Built outside the lock: it calls the catalog (a leaf-lock rule).
  auto snapshot = std::make_shared<StringContent>(StatsJson());
  std::lock_guard lock(stats_mu_);
  stats_snapshot_ = snapshot;
  stats_taken_ = now;
  return snapshot;
}

}  // namespace dcmfs
