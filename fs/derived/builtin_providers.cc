#include "fs/derived/builtin_providers.h"

#include <memory>

#include "fs/derived/sha256sums_provider.h"

namespace dcmfs {

void RegisterBuiltinProviders(DerivedFiles& derived) {
  derived.Register(std::make_unique<Sha256SumsProvider>());
}

}  // namespace dcmfs
