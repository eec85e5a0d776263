#include "index/internal/codec.h"

#include <nlohmann/json.hpp>

#include <array>
#include <optional>

namespace dcmfs::internal {
namespace {

using Json = nlohmann::json;

// --- Writing: empty fields are left out to keep records small. ----------
void PutStr(Json& j, const char* k, const std::string& v) {
  if (!v.empty()) j[k] = v;
}
void PutInt(Json& j, const char* k, int64_t v) {
  if (v != 0) j[k] = v;
}
void PutOptInt(Json& j, const char* k, const std::optional<int64_t>& v) {
  if (v) j[k] = *v;
}
template <size_t N>
void PutOptArray(Json& j, const char* k, const std::optional<std::array<double, N>>& v) {
  if (v) j[k] = *v;
}
void PutOptDouble(Json& j, const char* k, const std::optional<double>& v) {
  if (v) j[k] = *v;
}

// --- Reading: a wrong type is Corruption, a missing key is the default. --
class Reader {
 public:
  explicit Reader(const Json& j) : j_(j) {}
  bool ok() const { return ok_; }
  std::string Str(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end()) return "";
    if (!it->is_string()) return Fail();
    return it->get<std::string>();
  }
  int64_t Int(const char* k) { return OptInt(k).value_or(0); }
  bool Bool(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end()) return false;
    if (!it->is_boolean()) return Fail(), false;
    return it->get<bool>();
  }
  std::optional<int64_t> OptInt(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end()) return std::nullopt;
    if (!it->is_number_integer()) return Fail(), std::nullopt;
    return it->get<int64_t>();
  }
  std::optional<double> OptDouble(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end()) return std::nullopt;
    if (!it->is_number()) return Fail(), std::nullopt;
    return it->get<double>();
  }
  template <size_t N>
  std::optional<std::array<double, N>> OptArray(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end()) return std::nullopt;
    if (!it->is_array() || it->size() != N) return Fail(), std::nullopt;
    std::array<double, N> out{};
    for (size_t i = 0; i < N; ++i) {
      if (!(*it)[i].is_number()) return Fail(), std::nullopt;
      out[i] = (*it)[i].get<double>();
    }
    return out;
  }
  std::optional<Digest> OptDigest(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end() || !it->is_binary() || it->get_binary().size() != 32) {
      return Fail(), std::nullopt;
    }
    Digest d{};
    std::copy(it->get_binary().begin(), it->get_binary().end(), d.begin());
    return d;
  }

 private:
  std::string Fail() {
    ok_ = false;
    return "";
  }
  const Json& j_;
  bool ok_ = true;
};

std::string ToCbor(const Json& j) {
  const std::vector<uint8_t> bytes = Json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}

// Malformed bytes give a discarded value, except that nlohmann/json (3.11)
// still throws out_of_range for an absurd array or string length even with
// allow_exceptions=false (found by tests/index/codec_test.cc): that is
// converted here, where the library's error arises.
Result<Json> FromCbor(std::string_view v, const char* what) {
  Json j;
  try {
    j = Json::from_cbor(v.begin(), v.end(), /*strict=*/true, /*allow_exceptions=*/false);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("catalog: undecodable ") + what + ": " + e.what());
  }
  // Every record is a map (a clash group an array): a bare scalar is damage
  // that happened to be valid CBOR.
  if (j.is_discarded() || !(j.is_object() || j.is_array())) {
    return Status::Corruption(std::string("catalog: undecodable ") + what);
  }
  return j;
}

Status Malformed(const char* what) {
  return Status::Corruption(std::string("catalog: malformed ") + what + " record");
}

void PutBigEndian(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutLittleEndian(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetLittleEndian(std::string_view s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(s[i]);
  return v;
}

Json EncodeMeta(const InstanceMeta& m);
InstanceMeta DecodeMeta(Reader& r);

}  // namespace

std::string DigestBytes(const Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string ParentPrefix(InodeId parent) {
  std::string key;
  PutBigEndian(key, parent);
  return key;
}

std::string DirentKey(InodeId parent, std::string_view name) {
  std::string key = ParentPrefix(parent);
  key.append(name);
  return key;
}

std::string InstanceKey(std::string_view series_uid, const Digest& digest) {
  std::string key(series_uid);
  key.push_back('\0');
  return key + DigestBytes(digest);
}

std::string SopKey(std::string_view sop_uid, const Digest& digest) {
  return InstanceKey(sop_uid, digest);
}

std::string EncodeDirEntry(const DirEntry& e) {
  std::string v;
  PutLittleEndian(v, e.ino);
  v.push_back(static_cast<char>(e.kind));
  v.push_back(static_cast<char>(e.view));
  PutLittleEndian(v, e.size);
  PutLittleEndian(v, static_cast<uint64_t>(e.mtime));
  v.append(e.ref);
  return v;
}

Result<DirEntry> DecodeDirEntry(std::string_view key, std::string_view value) {
  constexpr size_t kFixed = 8 + 1 + 1 + 8 + 8;
  if (key.size() < 8 || value.size() < kFixed) return Malformed("directory entry");
  DirEntry e;
  e.name = std::string(key.substr(8));
  e.ino = GetLittleEndian(value.substr(0, 8));
  e.kind = static_cast<NodeKind>(value[8]);
  e.view = static_cast<View>(value[9]);
  e.size = GetLittleEndian(value.substr(10, 8));
  e.mtime = static_cast<int64_t>(GetLittleEndian(value.substr(18, 8)));
  e.ref = std::string(value.substr(kFixed));
  return e;
}

std::string EncodePatient(const PatientRecord& r) {
  Json j = Json::object();
  PutStr(j, "k", r.key), PutStr(j, "n", r.name), PutStr(j, "i", r.id);
  PutStr(j, "is", r.issuer), PutStr(j, "b", r.birth_date), PutStr(j, "s", r.sex);
  PutInt(j, "t", r.mtime);
  return ToCbor(j);
}

Result<PatientRecord> DecodePatient(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "patient"));
  Reader r(j);
  PatientRecord p{r.Str("k"), r.Str("n"), r.Str("i"), r.Str("is"), r.Str("b"), r.Str("s"),
                  r.Int("t")};
  if (!r.ok()) return Malformed("patient");
  return p;
}

std::string EncodeStudy(const StudyRecord& r) {
  Json j = Json::object();
  PutStr(j, "u", r.uid), PutStr(j, "p", r.patient_key), PutStr(j, "d", r.date);
  PutStr(j, "tm", r.time), PutStr(j, "de", r.description), PutStr(j, "a", r.accession);
  PutStr(j, "id", r.study_id), PutInt(j, "t", r.mtime);
  return ToCbor(j);
}

Result<StudyRecord> DecodeStudy(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "study"));
  Reader r(j);
  StudyRecord s{r.Str("u"),  r.Str("p"),  r.Str("d"), r.Str("tm"),
                r.Str("de"), r.Str("a"), r.Str("id"), r.Int("t")};
  if (!r.ok()) return Malformed("study");
  return s;
}

std::string EncodeSeries(const SeriesRecord& r) {
  Json j = Json::object();
  PutStr(j, "u", r.uid), PutStr(j, "st", r.study_uid), PutOptInt(j, "no", r.number);
  PutStr(j, "m", r.modality), PutStr(j, "de", r.description), PutStr(j, "d", r.date);
  PutStr(j, "tm", r.time), PutInt(j, "c", static_cast<int64_t>(r.instance_count));
  PutStr(j, "g", r.generation), PutInt(j, "t", r.mtime);
  return ToCbor(j);
}

Result<SeriesRecord> DecodeSeries(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "series"));
  Reader r(j);
  SeriesRecord s;
  s.uid = r.Str("u"), s.study_uid = r.Str("st"), s.number = r.OptInt("no");
  s.modality = r.Str("m"), s.description = r.Str("de"), s.date = r.Str("d");
  s.time = r.Str("tm"), s.instance_count = static_cast<uint64_t>(r.Int("c"));
  s.generation = r.Str("g"), s.mtime = r.Int("t");
  if (!r.ok()) return Malformed("series");
  return s;
}

std::string EncodeInstance(const InstanceRecord& r) {
  Json j = Json::object();
  j["h"] = Json::binary(std::vector<uint8_t>(r.digest.begin(), r.digest.end()));
  PutInt(j, "z", static_cast<int64_t>(r.size)), PutInt(j, "t", r.mtime);
  j["m"] = EncodeMeta(r.meta);
  return ToCbor(j);
}

Result<InstanceRecord> DecodeInstance(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "instance"));
  Reader r(j);
  InstanceRecord rec;
  rec.digest = r.OptDigest("h").value_or(Digest{});
  rec.size = static_cast<uint64_t>(r.Int("z"));
  rec.mtime = r.Int("t");
  auto m = j.find("m");
  if (m == j.end() || !m->is_object()) return Malformed("instance");
  Reader mr(*m);
  rec.meta = DecodeMeta(mr);
  if (!r.ok() || !mr.ok()) return Malformed("instance");
  return rec;
}

std::string EncodeBlob(const BlobRecord& r) {
  Json j = Json::object();
  PutStr(j, "se", r.series_uid), PutStr(j, "so", r.sop_uid);
  PutInt(j, "z", static_cast<int64_t>(r.size)), PutInt(j, "t", r.mtime);
  return ToCbor(j);
}

Result<BlobRecord> DecodeBlob(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "blob"));
  Reader r(j);
  BlobRecord b{r.Str("se"), r.Str("so"), static_cast<uint64_t>(r.Int("z")), r.Int("t")};
  if (!r.ok()) return Malformed("blob");
  return b;
}

std::string EncodeGroup(const std::vector<std::string>& members) { return ToCbor(Json(members)); }

Result<std::vector<std::string>> DecodeGroup(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "name group"));
  if (!j.is_array()) return Malformed("name group");
  std::vector<std::string> out;
  for (const Json& m : j) {
    if (!m.is_string()) return Malformed("name group");
    out.push_back(m.get<std::string>());
  }
  return out;
}

std::string EncodeCounts(const Catalog::Counts& c) {
  Json j = Json::array({c.patients, c.studies, c.series, c.instances, c.bytes});
  return ToCbor(j);
}

Result<Catalog::Counts> DecodeCounts(std::string_view v) {
  ASSIGN_OR_RETURN(Json j, FromCbor(v, "counts"));
  if (!j.is_array() || j.size() != 5) return Malformed("counts");
  for (const Json& n : j) {
    if (!n.is_number_unsigned()) return Malformed("counts");
  }
  return Catalog::Counts{j[0].get<uint64_t>(), j[1].get<uint64_t>(), j[2].get<uint64_t>(),
                         j[3].get<uint64_t>(), j[4].get<uint64_t>()};
}

namespace {

Json EncodeMeta(const InstanceMeta& m) {
  Json j = Json::object();
  PutStr(j, "pn", m.patient_name), PutStr(j, "pid", m.patient_id);
  PutStr(j, "iss", m.issuer_of_patient_id), PutStr(j, "pbd", m.patient_birth_date);
  PutStr(j, "psx", m.patient_sex);
  PutStr(j, "stu", m.study_uid), PutStr(j, "std", m.study_date), PutStr(j, "stt", m.study_time);
  PutStr(j, "sde", m.study_description), PutStr(j, "acc", m.accession_number);
  PutStr(j, "sid", m.study_id);
  PutStr(j, "seu", m.series_uid), PutOptInt(j, "sen", m.series_number);
  PutStr(j, "mod", m.modality), PutStr(j, "sed", m.series_description);
  PutStr(j, "sda", m.series_date), PutStr(j, "sti", m.series_time);
  PutStr(j, "for", m.frame_of_reference_uid);
  PutStr(j, "sop", m.sop_uid), PutStr(j, "cls", m.sop_class_uid);
  PutStr(j, "ts", m.transfer_syntax_uid), PutOptInt(j, "in", m.instance_number);
  PutStr(j, "cd", m.content_date), PutStr(j, "ct", m.content_time);
  PutStr(j, "ad", m.acquisition_date), PutStr(j, "at", m.acquisition_time);
  PutStr(j, "it", m.image_type), PutStr(j, "cs", m.specific_character_set);
  PutStr(j, "bia", m.burned_in_annotation);
  PutOptArray(j, "ipp", m.image_position), PutOptArray(j, "iop", m.image_orientation);
  PutOptArray(j, "ps", m.pixel_spacing), PutOptDouble(j, "sth", m.slice_thickness);
  PutOptDouble(j, "sbs", m.spacing_between_slices);
  PutInt(j, "r", m.rows), PutInt(j, "c", m.columns), PutInt(j, "nf", m.number_of_frames);
  PutInt(j, "spp", m.samples_per_pixel), PutInt(j, "ba", m.bits_allocated);
  PutInt(j, "bs", m.bits_stored), PutInt(j, "hb", m.high_bit);
  PutInt(j, "pr", m.pixel_representation), PutInt(j, "pc", m.planar_configuration);
  PutStr(j, "pi", m.photometric_interpretation);
  if (m.has_pixel_data) j["px"] = true;
  if (m.rescale_slope != 1.0) j["rs"] = m.rescale_slope;
  if (m.rescale_intercept != 0.0) j["ri"] = m.rescale_intercept;
  PutStr(j, "wc", m.window_center), PutStr(j, "ww", m.window_width);
  return j;
}

InstanceMeta DecodeMeta(Reader& r) {
  InstanceMeta m;
  m.patient_name = r.Str("pn"), m.patient_id = r.Str("pid");
  m.issuer_of_patient_id = r.Str("iss"), m.patient_birth_date = r.Str("pbd");
  m.patient_sex = r.Str("psx");
  m.study_uid = r.Str("stu"), m.study_date = r.Str("std"), m.study_time = r.Str("stt");
  m.study_description = r.Str("sde"), m.accession_number = r.Str("acc");
  m.study_id = r.Str("sid");
  m.series_uid = r.Str("seu"), m.series_number = r.OptInt("sen");
  m.modality = r.Str("mod"), m.series_description = r.Str("sed");
  m.series_date = r.Str("sda"), m.series_time = r.Str("sti");
  m.frame_of_reference_uid = r.Str("for");
  m.sop_uid = r.Str("sop"), m.sop_class_uid = r.Str("cls");
  m.transfer_syntax_uid = r.Str("ts"), m.instance_number = r.OptInt("in");
  m.content_date = r.Str("cd"), m.content_time = r.Str("ct");
  m.acquisition_date = r.Str("ad"), m.acquisition_time = r.Str("at");
  m.image_type = r.Str("it"), m.specific_character_set = r.Str("cs");
  m.burned_in_annotation = r.Str("bia");
  m.image_position = r.OptArray<3>("ipp"), m.image_orientation = r.OptArray<6>("iop");
  m.pixel_spacing = r.OptArray<2>("ps"), m.slice_thickness = r.OptDouble("sth");
  m.spacing_between_slices = r.OptDouble("sbs");
  m.rows = static_cast<uint32_t>(r.Int("r")), m.columns = static_cast<uint32_t>(r.Int("c"));
  m.number_of_frames = static_cast<uint32_t>(r.Int("nf"));
  m.samples_per_pixel = static_cast<uint16_t>(r.Int("spp"));
  m.bits_allocated = static_cast<uint16_t>(r.Int("ba"));
  m.bits_stored = static_cast<uint16_t>(r.Int("bs"));
  m.high_bit = static_cast<uint16_t>(r.Int("hb"));
  m.pixel_representation = static_cast<uint16_t>(r.Int("pr"));
  m.planar_configuration = static_cast<uint16_t>(r.Int("pc"));
  m.photometric_interpretation = r.Str("pi");
  m.has_pixel_data = r.Bool("px");
  m.rescale_slope = r.OptDouble("rs").value_or(1.0);
  m.rescale_intercept = r.OptDouble("ri").value_or(0.0);
  m.window_center = r.Str("wc"), m.window_width = r.Str("ww");
  return m;
}

}  // namespace

}  // namespace dcmfs::internal
