// One-time DCMTK setup shared by every codecs/ file that touches DCMTK.
// Internal to codecs/: never include from outside this folder.
#pragma once

#include "base/status.h"

namespace dcmfs::codecs_internal {

// Checks that the DICOM data dictionary is loaded (implicit VR parsing needs
// it) and quiets DCMTK's own logger so that parsing hostile input does not
// flood stderr; our Status messages carry the reasons instead. Idempotent and
// thread-safe. Internal if the dictionary is missing.
Status EnsureDcmtkReady();

}  // namespace dcmfs::codecs_internal
