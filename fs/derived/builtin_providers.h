// The providers every mount registers. New virtual file kinds are added here.
#pragma once

#include "fs/derived/derived_files.h"

namespace dcmfs {

void RegisterBuiltinProviders(DerivedFiles& derived);

}  // namespace dcmfs
