// The contents and attributes of /anonymized files: de-identified instances,
// their SHA256SUMS and EXCLUDED.txt (see anon_tree.h, anon_providers.h).
#include "fs/anonymized/anon_providers.h"

#include <array>

#include "codecs/sha256.h"
#include "fs/derived/sha256sums_provider.h"

namespace dcmfs {
namespace {

// Splits "a;b;c" into at most `N` parts; nullopt if there are fewer.
template <size_t N>
std::optional<std::array<std::string, N>> SplitParams(std::string_view params) {
  std::array<std::string, N> parts;
  for (size_t i = 0; i < N; ++i) {
    size_t end = i + 1 == N ? params.size() : params.find(';');
    if (end == std::string_view::npos) return std::nullopt;
    parts[i] = std::string(params.substr(0, end));
    params.remove_prefix(i + 1 == N ? params.size() : end + 1);
  }
  return parts;
}

// Hashes a content by streaming it (a de-identified file may be large).
Result<Digest> HashContent(const DerivedContent& content) {
  Sha256Stream hash;
  std::vector<uint8_t> buf(1u << 20);
  uint64_t offset = 0;
  while (offset < content.size()) {
    ASSIGN_OR_RETURN(size_t n, content.ReadAt(offset, buf));
    if (n == 0) return Status::Internal("de-identified content shorter than its size");
    hash.Update(std::span<const uint8_t>(buf.data(), n));
    offset += n;
  }
  return hash.Finish();
}

}  // namespace

Result<std::shared_ptr<DerivedContent>> DeidProvider::Produce(const SeriesContext& ctx,
                                                              std::string_view params) const {
  auto parts = SplitParams<3>(params);
  if (!parts) return Status::InvalidArgument("deid: malformed parameters");
  std::optional<Digest> digest = DigestFromHex((*parts)[0]);
  if (!digest) return Status::InvalidArgument("deid: parameters without a digest");
  ASSIGN_OR_RETURN(std::string original, ctx.blobs->ReadAll(*digest));
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(original.data()),
                                        original.size());
  Result<std::string> deidentified =
      DeidentifyDicom(bytes, tree_->options().deid, tree_->keys(), (*parts)[1]);
  if (!deidentified.ok()) {
    // The message names the blob, never the patient (STYLE: no identifiers in logs).
    return deidentified.status().WithContext("de-identifying blob " + (*parts)[0]);
  }
  return std::shared_ptr<DerivedContent>(
      std::make_shared<StringContent>(std::move(deidentified).value()));
}

Result<std::shared_ptr<DerivedContent>> DeidSumsProvider::Produce(const SeriesContext& ctx,
                                                                  std::string_view params) const {
  auto parts = SplitParams<3>(params);
  if (!parts) return Status::InvalidArgument("deid-sha256sums: malformed parameters");
  Node series{NodeKind::kSeries, View::kAnonymized, ctx.series.uid, "", 0, 0, 0, (*parts)[0]};
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> listing,
                   tree_->List(ctx.folder_ino, &series));
  std::string out;
  for (const AnonChild& child : listing->children) {  // sorted by name, as sha256sum users expect
    if (child.node.kind != NodeKind::kInstance) continue;
    ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content, tree_->Content(child.node));
    ASSIGN_OR_RETURN(Digest digest, HashContent(*content));
    out += ToHex(digest) + "  " + child.name + "\n";
  }
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(out)));
}

Result<std::shared_ptr<DerivedContent>> AnonymizedTree::Content(const Node& file) {
  CHECK(file.view == View::kAnonymized);
  SeriesContext ctx;
  ctx.catalog = &catalog_;
  ctx.blobs = &blobs_;
  ctx.view = View::kAnonymized;
  if (file.kind == NodeKind::kInstance) {
    // Depends only on the bytes, the patient, options and secret (params), not
    // on the series' other instances: a constant generation keeps it cached
    // when the series grows.
    ctx.series.uid = "deid";
    ctx.series.generation = "-";
    DerivedName name{&providers_->deid, file.name,
                     file.ref + ";" + file.patient_key + ";" + fingerprint_};
    return derived_.Get(ctx, name);
  }
  if (file.kind != NodeKind::kVirtual) return Status::InvalidArgument("is a folder");
  if (file.name == kExcludedTxtName) {
    Node series{NodeKind::kSeries, View::kAnonymized, file.ref, "", 0, 0, 0, file.patient_key};
    ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> listing, List(file.parent, &series));
    std::string text;
    for (const auto& [name, reason] : listing->excluded) text += name + ": " + reason + "\n";
    return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(text)));
  }
  if (file.name == kSha256SumsName) {
    ASSIGN_OR_RETURN(ctx.series, catalog_.GetSeries(file.ref));
    ctx.folder_ino = file.parent;
    DerivedName name{&providers_->sums, file.name,
                     file.patient_key + ";" + fingerprint_ + ";burned=" +
                         (options_.include_burned_in ? "1" : "0")};
    return derived_.Get(ctx, name);
  }
  return DerivedFileContent(file);
}

// --- Attributes ------------------------------------------------------------

void AnonymizedTree::AddStudyXattrs(XattrBuilder& b, const std::string& study_uid,
                                    const std::string& patient_key) const {
  b.Add("StudyInstanceUID", keys_.MapUid(study_uid));
  Result<StudyRecord> study = catalog_.GetStudy(study_uid);
  if (study.ok()) b.Add("StudyDate", ShiftedDate(study->date, patient_key, false));
}

Result<XattrList> AnonymizedTree::Xattrs(const Node& node) {
  CHECK(node.view == View::kAnonymized);
  XattrBuilder b;
  if (node.kind == NodeKind::kVirtual) return b.Take();
  const std::string pseudonym = keys_.PatientPseudonym(node.patient_key);
  b.Add("PatientID", pseudonym);
  b.Add("PatientName", pseudonym);
  switch (node.kind) {
    case NodeKind::kStudy:
      AddStudyXattrs(b, node.ref, node.patient_key);
      break;
    case NodeKind::kSeries: {
      ASSIGN_OR_RETURN(SeriesRecord s, catalog_.GetSeries(node.ref));
      AddStudyXattrs(b, s.study_uid, node.patient_key);
      b.Add("SeriesInstanceUID", keys_.MapUid(s.uid));
      b.Add("SeriesNumber", s.number);
      b.Add("Modality", s.modality);
      break;
    }
    case NodeKind::kInstance: {
      std::optional<Digest> digest = DigestFromHex(node.ref);
      if (!digest) return Status::Internal("anonymized instance without a digest");
      ASSIGN_OR_RETURN(InstanceRecord inst, catalog_.GetInstance(*digest));
      const InstanceMeta& m = inst.meta;
      // The file's own UIDs, mapped as DeidentifyDicom maps them inside it.
      AddStudyXattrs(b, m.study_uid, node.patient_key);
      b.Add("SeriesInstanceUID", keys_.MapUid(m.series_uid));
      b.Add("SeriesNumber", m.series_number);
      b.Add("Modality", m.modality);
      b.Add("SOPInstanceUID", keys_.MapUid(m.sop_uid));
      b.Add("SOPClassUID", m.sop_class_uid);
      b.Add("InstanceNumber", m.instance_number);
      b.AddCount("NumberOfFrames", m.number_of_frames);
      b.AddCount("Rows", m.rows);
      b.AddCount("Columns", m.columns);
      break;
    }
    default:
      break;
  }
  return b.Take();
}

}  // namespace dcmfs
