// When a staged file in /incoming is ready to be ingested: pure bookkeeping,
// no I/O, so that the rules are unit-tested with a fake clock.
//
// A file becomes due once its last write handle is released after a write
// (or after a truncate with no handle open), plus a short grace for the
// attribute changes copy tools make right after close (cp -p sets times,
// file managers set modes). Names starting with '.' are what rsync and many
// editors write before renaming to the final name; they wait for that rename,
// or become due after `temporary` with no activity (a dot-file meant to stay).
// Opening the file for writing again takes it out of the due set.
//
// Not thread-safe: the owner (fs/incoming/incoming.h) serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "index/inode.h"

namespace dcmfs {

struct IngestDelays {
  std::chrono::milliseconds regular{500};
  std::chrono::milliseconds temporary{5000};
};

class IngestQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using Delays = IngestDelays;
  explicit IngestQueue(Delays delays) : delays_(delays) {}

  static bool IsTemporaryName(std::string_view name) { return name.starts_with('.'); }

  void OpenedForWrite(InodeId ino);
  // One write handle closed. True when it was the last one and the file was
  // written while open: the caller then marks the file complete and calls
  // Ready().
  bool Released(InodeId ino, bool written);
  // A complete file that should be ingested (after a release, a truncate, or
  // found at mount time). Ignored while a write handle is open.
  void Ready(InodeId ino, std::string_view name, Clock::time_point now);
  // Attributes changed (times, mode): a due file waits a little longer.
  void Touched(InodeId ino, Clock::time_point now);
  void Renamed(InodeId ino, std::string_view new_name, Clock::time_point now);
  void Removed(InodeId ino);
  bool HasWriters(InodeId ino) const;

  // Takes every entry due at `now`, oldest deadline first.
  std::vector<InodeId> TakeDue(Clock::time_point now);
  std::optional<Clock::time_point> NextDue() const;
  size_t waiting() const;  // scheduled, not yet taken

 private:
  struct State {
    int writers = 0;
    bool dirty = false;  // written through a handle still open
    bool temporary = false;
    std::optional<Clock::time_point> due;
  };
  Clock::time_point DueAfter(const State& s, Clock::time_point now) const;
  void Prune(InodeId ino);

  const Delays delays_;
  std::unordered_map<InodeId, State> states_;
};

}  // namespace dcmfs
