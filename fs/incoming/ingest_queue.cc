#include "fs/incoming/ingest_queue.h"

#include <algorithm>

namespace dcmfs {

IngestQueue::Clock::time_point IngestQueue::DueAfter(const State& s, Clock::time_point now) const {
  return now + (s.temporary ? delays_.temporary : delays_.regular);
}

void IngestQueue::Prune(InodeId ino) {
  auto it = states_.find(ino);
  if (it != states_.end() && it->second.writers == 0 && !it->second.dirty && !it->second.due) {
    states_.erase(it);
  }
}

void IngestQueue::OpenedForWrite(InodeId ino) {
  State& s = states_[ino];
  ++s.writers;
  s.due.reset();
}

bool IngestQueue::Released(InodeId ino, bool written) {
  auto it = states_.find(ino);
  if (it == states_.end()) return false;
  State& s = it->second;
  if (written) s.dirty = true;
  if (s.writers > 0) --s.writers;
  const bool complete = s.writers == 0 && s.dirty;
  if (s.writers == 0) s.dirty = false;
  Prune(ino);
  return complete;
}

void IngestQueue::Ready(InodeId ino, std::string_view name, Clock::time_point now) {
  State& s = states_[ino];
  if (s.writers > 0) return;
  s.temporary = IsTemporaryName(name);
  s.due = DueAfter(s, now);
}

void IngestQueue::Touched(InodeId ino, Clock::time_point now) {
  auto it = states_.find(ino);
  if (it == states_.end() || !it->second.due) return;
  it->second.due = std::max(*it->second.due, DueAfter(it->second, now));
}

void IngestQueue::Renamed(InodeId ino, std::string_view new_name, Clock::time_point now) {
  auto it = states_.find(ino);
  if (it == states_.end()) return;
  it->second.temporary = IsTemporaryName(new_name);
  // The rename is what rsync does last: the final name is ready now.
  if (it->second.due) it->second.due = DueAfter(it->second, now);
}

void IngestQueue::Removed(InodeId ino) { states_.erase(ino); }

bool IngestQueue::HasWriters(InodeId ino) const {
  auto it = states_.find(ino);
  return it != states_.end() && it->second.writers > 0;
}

std::vector<InodeId> IngestQueue::TakeDue(Clock::time_point now) {
  std::vector<std::pair<Clock::time_point, InodeId>> due;
  for (auto& [ino, s] : states_) {
    if (s.due && *s.due <= now) due.emplace_back(*s.due, ino);
  }
  std::sort(due.begin(), due.end());
  std::vector<InodeId> out;
  for (const auto& [when, ino] : due) {
    states_[ino].due.reset();
    Prune(ino);
    out.push_back(ino);
  }
  return out;
}

std::optional<IngestQueue::Clock::time_point> IngestQueue::NextDue() const {
  std::optional<Clock::time_point> next;
  for (const auto& [ino, s] : states_) {
    if (s.due && (!next || *s.due < *next)) next = s.due;
  }
  return next;
}

size_t IngestQueue::waiting() const {
  return static_cast<size_t>(
      std::count_if(states_.begin(), states_.end(), [](const auto& kv) { return kv.second.due.has_value(); }));
}

}  // namespace dcmfs
