// The providers every mount registers. New virtual file kinds are added here.
#pragma once

#include "fs/derived/derived_files.h"
#include "fs/iiif/iiif_providers.h"

namespace dcmfs {

void RegisterBuiltinProviders(DerivedFiles& derived, const IiifOptions& iiif = IiifOptions());

}  // namespace dcmfs
