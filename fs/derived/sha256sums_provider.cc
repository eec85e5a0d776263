#include "fs/derived/sha256sums_provider.h"

#include <string>

namespace dcmfs {
namespace {

std::string ParamsFor(View view) {
  return view == View::kStudies ? "view=studies" : "view=patients";
}

}  // namespace

std::vector<std::string> Sha256SumsProvider::Names(const SeriesContext& /*ctx*/) const {
  return {kSha256SumsName};
}

std::optional<std::string> Sha256SumsProvider::Match(const SeriesContext& ctx,
                                                     std::string_view name) const {
  if (name != kSha256SumsName) return std::nullopt;
  return ParamsFor(ctx.view);
}

Result<std::shared_ptr<DerivedContent>> Sha256SumsProvider::Produce(const SeriesContext& ctx,
                                                                    std::string_view params) const {
  if (params != ParamsFor(ctx.view)) {
    return Status::InvalidArgument("SHA256SUMS: parameters do not match the folder's view");
  }
  std::string out;
  // Catalog::List visits names in byte order, which is the order sha256sum
  // users expect from `LC_ALL=C sort`; folders other than instances are skipped.
  Status listed = ctx.catalog->List(ctx.folder_ino, "", [&](const DirEntry& e) {
    if (e.kind != NodeKind::kInstance) return true;
    out.append(e.ref);  // the blob's digest in hex: the SHA-256 of the original bytes
    out.append("  ");
    out.append(e.name);
    out.push_back('\n');
    return true;
  });
  RETURN_IF_ERROR(listed);
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(out)));
}

}  // namespace dcmfs
