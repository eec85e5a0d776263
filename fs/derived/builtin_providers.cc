#include "fs/derived/builtin_providers.h"

#include <memory>

#include "fs/derived/mesh_providers.h"
#include "fs/derived/sha256sums_provider.h"

namespace dcmfs {

void RegisterBuiltinProviders(DerivedFiles& derived, const IiifOptions& iiif) {
  derived.Register(std::make_unique<Sha256SumsProvider>());
  RegisterMeshProviders(derived);
  RegisterIiifProviders(derived, iiif);
}

}  // namespace dcmfs
