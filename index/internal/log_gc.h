// Removing what no reader needs any more from the shared index log, so the
// store holds about two checkpoints and the log since the older one, not
// the archive's whole history.
#pragma once

#include <string>

#include "base/status.h"
#include "index/internal/log_format.h"
#include "index/object_store.h"

namespace dcmfs::internal {

// Called by the writer right after `newest` became LATEST. Keeps `newest`
// and the checkpoint before it (of the same database) with their tables, and
// the log after the older one's log_after; removes older checkpoints, log
// objects and tables of this database, and — once this database has two
// checkpoints — everything of other databases (an earlier history). A
// reader that was further behind finds a gap and loads the newest
// checkpoint. Stops at the first store error.
Status CollectLogGarbage(ObjectStore& store, const std::string& prefix,
                         const LatestRecord& newest);

}  // namespace dcmfs::internal
