#include "fs/derived/builtin_providers.h"

#include <memory>

#include "fs/derived/mesh_providers.h"
#include "fs/derived/mpr_providers.h"
#include "fs/derived/sha256sums_provider.h"
#include "fs/derived/volume_providers.h"

namespace dcmfs {

void RegisterBuiltinProviders(DerivedFiles& derived, const IiifOptions& iiif) {
  derived.Register(std::make_unique<Sha256SumsProvider>());
  derived.Register(std::make_unique<VolumePlanProvider>());
  derived.Register(std::make_unique<NiftiProvider>());
  derived.Register(std::make_unique<SidecarProvider>());
  derived.Register(std::make_unique<PicturesProvider>());
  RegisterMeshProviders(derived);
  RegisterIiifProviders(derived, iiif);
}

}  // namespace dcmfs
