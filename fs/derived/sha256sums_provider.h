// SHA256SUMS in every series folder: one line per original instance listed
// in that folder, "<64 hex SHA-256>  <file name>\n", sorted by name, so that
// `sha256sum -c SHA256SUMS` run inside the folder verifies every original.
//
// The digests are the blobs' content addresses (the SHA-256 of the original
// bytes), so producing it lists the folder and reads no blob. Names differ
// between /patients (NNNN.dcm) and /studies (<SOP UID>.dcm): the content is
// view-dependent (params "view=patients" / "view=studies"). Size: known by
// producing it (cheap), so it is not kept in the persistent cache.
#pragma once

#include "fs/derived/provider.h"

namespace dcmfs {

inline constexpr char kSha256SumsName[] = "SHA256SUMS";

class Sha256SumsProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return "sha256sums"; }
  bool view_dependent() const override { return true; }
  bool persist() const override { return false; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

}  // namespace dcmfs
