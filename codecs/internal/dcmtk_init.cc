#include "codecs/internal/dcmtk_init.h"

#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/dcmdata/dcostrmz.h>
#include <dcmtk/oflog/oflog.h>

#include <mutex>

namespace dcmfs::codecs_internal {

Status EnsureDcmtkReady() {
  static std::once_flag once;
  static bool dictionary_loaded = false;
  std::call_once(once, [] {
    // DCMTK reports every parser complaint at ERROR level on stderr; for a
    // filesystem ingesting arbitrary files those are expected outcomes that
    // we return as Status, so only FATAL remains visible.
    OFLog::getLogger("dcmtk").setLogLevel(OFLogger::FATAL_LOG_LEVEL);
    // PS3.5 6.2.2: an attribute whose VR a writer did not know is stored as
    // UN; read it with its dictionary VR, or a UID stored as UN would come
    // out as hex bytes and misplace the instance in the tree.
    dcmEnableUnknownVRConversion.set(OFTrue);
    // Deflated datasets are re-deflated when de-identified on read; zlib's
    // fastest level keeps that from dominating the anonymized view's cold
    // reads (it was 43% of the mount's CPU at DCMTK's default level 6).
    dcmZlibCompressionLevel.set(1);
    dictionary_loaded = dcmDataDict.isDictionaryLoaded();
  });
  if (!dictionary_loaded) {
    return Status::Internal("DCMTK data dictionary not loaded (check DCMDICTPATH)");
  }
  return Status::Ok();
}

}  // namespace dcmfs::codecs_internal
