// The derived-file providers behind /anonymized files. They are not
// registered with DerivedFiles (they claim no name in identified folders):
// AnonymizedTree resolves names itself and hands DerivedFiles a DerivedName
// pointing here, so production still runs once per key (single flight) and
// lands in the persistent cache.
#pragma once

#include "fs/anonymized/anon_iiif.h"
#include "fs/anonymized/anon_tree.h"
#include "fs/derived/provider.h"

namespace dcmfs {

// "deid": one de-identified instance. params = "<digest hex>;<patient
// key>;<fingerprint>"; the content depends on nothing else, so the cache key
// uses a constant series generation (a growing series does not re-run it).
class DeidProvider final : public DerivedProvider {
 public:
  explicit DeidProvider(const AnonymizedTree* tree) : tree_(tree) {}
  std::string kind() const override { return "deid"; }
  bool view_dependent() const override { return true; }
  bool persist() const override { return true; }
  std::vector<std::string> Names(const SeriesContext&) const override { return {}; }
  std::optional<std::string> Match(const SeriesContext&, std::string_view) const override {
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;

 private:
  const AnonymizedTree* tree_;
};

// "deid-sha256sums": SHA256SUMS over the de-identified files of a series
// folder. params = "<patient key>;<fingerprint>;burned=<0|1>"; keyed by the
// series generation (it lists the series). Persisted: its size needs every
// file de-identified.
class DeidSumsProvider final : public DerivedProvider {
 public:
  explicit DeidSumsProvider(AnonymizedTree* tree) : tree_(tree) {}
  std::string kind() const override { return "deid-sha256sums"; }
  bool view_dependent() const override { return true; }
  bool persist() const override { return true; }
  std::vector<std::string> Names(const SeriesContext&) const override { return {}; }
  std::optional<std::string> Match(const SeriesContext&, std::string_view) const override {
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;

 private:
  AnonymizedTree* tree_;
};

struct AnonymizedTree::Providers {
  explicit Providers(AnonymizedTree* tree) : deid(tree), sums(tree), iiif(tree) {}
  DeidProvider deid;
  DeidSumsProvider sums;
  AnonIiif iiif;
};

}  // namespace dcmfs
