// DeidentifyDicom: PS3.15 Annex E Basic Application Level Confidentiality
// Profile over a DCMTK dataset.
//
// Passes:
//   1. Validate with ParseDicom (same sniffing and work budgets as ingest),
//      then read the whole file with DCMTK from memory. Large values (Pixel
//      Data) stay deferred on the caller's buffer and are copied through
//      unchanged when writing, fragments and offset table included.
//   2. Harvest the identifying strings that the profile removes or replaces
//      (names, IDs, dates, addresses...), for the C (clean) action on text.
//   3. Walk the dataset, recursing into every sequence item (E.1.1: actions
//      apply to attributes nested in sequences too), applying the action the
//      table (codecs/internal/annex_e_table.h) resolves for each tag.
//   4. Add Patient Identity Removed, De-identification Method and its Code
//      Sequence (E.1.1), and Longitudinal Temporal Information Modified
//      (PS3.3 C.7.6.1.1) when dates were shifted.
//   5. Write with the original transfer syntax and a new file meta header
//      (built from the remapped SOP Instance UID, so MediaStorageSOPInstanceUID
//      follows; the original header's AE titles and private information,
//      which name sites and devices, are not carried over).
//
// Attributes the table does not list are kept (the table is the profile),
// with two conservative exceptions: private attributes are removed (with the
// Retain Safe Private Option, those of Table E.3.10-1 and their creators are
// kept, UIDs among them remapped like standard ones: codecs/internal/
// safe_private.h), and any unlisted attribute of VR PN is removed, because
// a person's name is identifying wherever a new standard or vendor puts it.
#include "codecs/deidentify.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <array>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "codecs/dicom_parse.h"
#include "codecs/internal/annex_e_table.h"
#include "codecs/internal/dcmtk_init.h"
#include "codecs/internal/deid_values.h"
#include "codecs/internal/safe_private.h"
#include "codecs/internal/span_input_stream.h"
#include "codecs/sha256.h"

namespace dcmfs {
namespace {

using codecs_internal::AnnexETable;
using codecs_internal::DeidAction;
using codecs_internal::TextCleaner;

// Real instances nest a handful of levels; deeper means hostile input.
constexpr int kMaxDepth = 64;
// Dummies for D (PS3.15 E.1.1: "non-zero length ... consistent with the VR").
constexpr char kDummyText[] = "ANONYMOUS";  // fits SH, CS and AE (16 chars)
constexpr char kDummyDate[] = "19000101";
constexpr char kDummyTime[] = "000000";
constexpr char kDummyDateTime[] = "19000101000000";
constexpr char kDummyAge[] = "000Y";
constexpr char kDummyUri[] = "urn:anonymous";

struct MethodCode {
  const char* value;
  const char* meaning;  // PS3.16 CID 7050; each fits LO (64 chars)
};

std::vector<MethodCode> MethodCodes(const DeidOptions& o) {
  std::vector<MethodCode> codes = {{"113100", "Basic Application Confidentiality Profile"}};
  if (o.retain_modified_dates) {
    codes.push_back({"113107", "Retain Longitudinal Temporal Information Modified Dates Option"});
  }
  if (o.retain_patient_characteristics) {
    codes.push_back({"113108", "Retain Patient Characteristics Option"});
  }
  if (o.retain_device_identity) codes.push_back({"113109", "Retain Device Identity Option"});
  if (o.clean_descriptors) codes.push_back({"113105", "Clean Descriptors Option"});
  if (o.retain_safe_private) codes.push_back({"113111", "Retain Safe Private Option"});
  return codes;
}

Digest Hmac(const std::string& secret, std::string_view message) {
  return HmacSha256(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
}

// The table for these options, resolved once per combination and kept for
// the life of the process (at most 32 small tables).
Result<const AnnexETable*> TableFor(const DeidOptions& o) {
  static std::mutex mutex;
  static std::map<unsigned, std::unique_ptr<AnnexETable>>* tables =
      new std::map<unsigned, std::unique_ptr<AnnexETable>>();
  const unsigned key = (o.retain_modified_dates ? 1u : 0u) |
                       (o.retain_patient_characteristics ? 2u : 0u) |
                       (o.retain_device_identity ? 4u : 0u) | (o.clean_descriptors ? 8u : 0u) |
                       (o.retain_safe_private ? 16u : 0u);
  std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = tables->find(key); it != tables->end()) return it->second.get();
  std::vector<std::string_view> names;
  if (o.retain_modified_dates) names.push_back(codecs_internal::kOptionModifiedDates);
  if (o.retain_patient_characteristics) names.push_back(codecs_internal::kOptionPatientChars);
  if (o.retain_device_identity) names.push_back(codecs_internal::kOptionDeviceId);
  if (o.clean_descriptors) names.push_back(codecs_internal::kOptionCleanDescriptors);
  if (o.retain_safe_private) names.push_back(codecs_internal::kOptionSafePrivate);
  ASSIGN_OR_RETURN(AnnexETable table, AnnexETable::Build(names));
  auto [it, inserted] = tables->emplace(key, std::make_unique<AnnexETable>(std::move(table)));
  return it->second.get();
}

bool IsText(DcmEVR vr) {
  switch (vr) {
    case EVR_PN: case EVR_LO: case EVR_SH: case EVR_ST: case EVR_LT: case EVR_UT: case EVR_UC:
    case EVR_AE:
      return true;
    default:
      return false;
  }
}

bool IsStringValued(DcmEVR vr) {
  return IsText(vr) || vr == EVR_DA || vr == EVR_DT || vr == EVR_TM || vr == EVR_CS ||
         vr == EVR_AS || vr == EVR_UI || vr == EVR_UR || vr == EVR_IS || vr == EVR_DS;
}

std::string GetString(DcmElement& e) {
  OFString s;
  if (e.getOFStringArray(s).bad()) return {};
  return std::string(s.c_str(), s.length());
}

// Explicit VR files may carry standard attributes as UN (PS3.5 6.2.2: a
// writer that did not know the VR). Without their real VR the table's
// action on a UID or date could only remove them, and a file without its
// UIDs cannot be placed; so a UN element whose dictionary VR is a string VR
// is replaced by an element of that VR holding the same bytes (strings do
// not depend on byte order). Others stay UN.
Result<DcmElement*> TypeUnknownVr(DcmItem& item, unsigned long i) {
  DcmElement* e = item.getElement(i);
  DcmTag tag(e->getTag().getXTag());  // the dictionary's VR
  if (e->getTag().getGroup() % 2 == 1 || !IsStringValued(tag.getEVR())) return e;
  Uint8* data = nullptr;
  if (e->getUint8Array(data).bad()) return e;
  const std::string value(reinterpret_cast<const char*>(data), data ? e->getLength() : 0);
  DcmElement* typed = DcmItem::newDicomElement(tag.getXTag());
  if (typed == nullptr) return e;
  if (typed->putString(value.c_str(), static_cast<Uint32>(value.size())).bad() ||
      item.insert(typed, /*replaceOld=*/true).bad()) {
    delete typed;
    return Status::Internal("cannot retype UN element " + std::string(tag.toString().c_str()));
  }
  return item.getElement(i);
}

// One de-identification of one file: the options, keys and per-patient
// values, and what the harvest found.
class Deidentifier {
 public:
  Deidentifier(const AnnexETable& table, const DeidOptions& options, const DeidKeys& keys,
               std::string_view patient_key)
      : table_(table),
        options_(options),
        keys_(keys),
        pseudonym_(keys.PatientPseudonym(patient_key)),
        shift_days_(keys.DateShiftDays(patient_key)) {}

  // The action for `e`, nullopt to keep it untouched (unlisted). `safe`:
  // the private tags of e's item that the Retain Safe Private Option keeps.
  std::optional<DeidAction> Resolve(const DcmElement& e, const std::set<uint32_t>& safe) const {
    const DcmTag& tag = e.getTag();
    const uint16_t group = tag.getGroup();
    if (group % 2 == 1) {
      if (!safe.contains(uint32_t{group} << 16 | tag.getElement())) return DeidAction::kRemove;
      // A private UID may name an original instance (NQHeader's Analyzed
      // Series UID): remapped as U does, so references stay consistent.
      return e.ident() == EVR_UI ? DeidAction::kUid : DeidAction::kKeep;
    }
    std::optional<DeidAction> a = table_.Lookup(group, tag.getElement());
    if (!a && e.ident() == EVR_PN) return DeidAction::kRemove;
    return a;
  }

  // What Resolve needs to know about `item`'s private attributes.
  std::set<uint32_t> SafePrivate(DcmItem& item) const {
    return options_.retain_safe_private ? codecs_internal::SafePrivateTagsOf(item)
                                        : std::set<uint32_t>();
  }
  void Harvest(DcmItem& item, int depth);
  void SealHarvest() { cleaner_.Seal(); }
  Status CleanItem(DcmItem& item, int depth);
  Status AddMarkers(DcmDataset& ds);

 private:
  // Whether to keep `e` after applying `action` to it.
  Result<bool> Apply(DcmElement& e, DeidAction action, int depth);
  Status CleanSequence(DcmElement& e, int depth);
  Status Put(DcmElement& e, const std::string& value);
  Status PutDummy(DcmElement& e);
  Status MapUids(DcmElement& e);
  Result<bool> Clean(DcmElement& e, int depth);

  const AnnexETable& table_;
  const DeidOptions& options_;
  const DeidKeys& keys_;
  const std::string pseudonym_;
  const int shift_days_;
  TextCleaner cleaner_;
};

// Pass 2: every string the profile changes (not K or C) is identifying
// enough that descriptions must not repeat it.
void Deidentifier::Harvest(DcmItem& item, int depth) {
  if (depth > kMaxDepth) return;
  const std::set<uint32_t> safe = SafePrivate(item);
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* e = item.getElement(i);
    const DcmEVR vr = e->ident();
    if (vr == EVR_SQ) {
      auto* sq = static_cast<DcmSequenceOfItems*>(e);
      for (unsigned long j = 0; j < sq->card(); ++j) Harvest(*sq->getItem(j), depth + 1);
      continue;
    }
    const std::optional<DeidAction> a = Resolve(*e, safe);
    if (!a || *a == DeidAction::kKeep || *a == DeidAction::kClean) continue;
    if (IsText(vr) || vr == EVR_DA || vr == EVR_DT) cleaner_.Harvest(GetString(*e), vr == EVR_PN);
  }
}

Status Deidentifier::CleanItem(DcmItem& item, int depth) {
  if (depth > kMaxDepth) {
    return Status::DataLoss("unreadable DICOM: sequences nested deeper than " +
                            std::to_string(kMaxDepth));
  }
  const std::set<uint32_t> safe = SafePrivate(item);
  for (unsigned long i = 0; i < item.card();) {
    DcmElement* e = item.getElement(i);
    if (e->ident() == EVR_UN) {
      ASSIGN_OR_RETURN(e, TypeUnknownVr(item, i));
    }
    const std::optional<DeidAction> action = Resolve(*e, safe);
    bool keep = true;
    if (action) {
      ASSIGN_OR_RETURN(keep, Apply(*e, *action, depth));
    } else if (e->ident() == EVR_SQ) {
      // Unlisted sequences are kept, but their items may hold listed tags.
      RETURN_IF_ERROR(CleanSequence(*e, depth));
    }
    if (keep) {
      ++i;
    } else {
      delete item.remove(i);
    }
  }
  return Status::Ok();
}

Status Deidentifier::CleanSequence(DcmElement& e, int depth) {
  auto& sq = static_cast<DcmSequenceOfItems&>(e);
  for (unsigned long j = 0; j < sq.card(); ++j) {
    RETURN_IF_ERROR(CleanItem(*sq.getItem(j), depth + 1));
  }
  return Status::Ok();
}

Result<bool> Deidentifier::Apply(DcmElement& e, DeidAction action, int depth) {
  const DcmEVR vr = e.ident();
  const DcmTagKey key = e.getTag().getXTag();
  if (action == DeidAction::kRemove) return false;
  // An unknown VR (implicit VR data the dictionary lacks) cannot be changed
  // safely as text; anything but K removes it.
  if (vr == EVR_UN || vr == EVR_UNKNOWN || vr == EVR_UNKNOWN2B) {
    return action == DeidAction::kKeep;
  }
  if (vr == EVR_SQ) {
    // Z empties a sequence; D, K, C and U keep it and clean its items (for U:
    // the references inside are remapped by their own U rows).
    if (action == DeidAction::kZero) {
      static_cast<DcmSequenceOfItems&>(e).clear();
      return true;
    }
    RETURN_IF_ERROR(CleanSequence(e, depth));
    return true;
  }
  // Patient Name (Z) and Patient ID (Z/D) become the pseudonym, so that one
  // patient's studies stay together in the anonymized view.
  if ((key == DCM_PatientName || key == DCM_PatientID) &&
      (action == DeidAction::kZero || action == DeidAction::kDummy)) {
    RETURN_IF_ERROR(Put(e, pseudonym_));
    return true;
  }
  switch (action) {
    case DeidAction::kZero:
      if (e.getLength() > 0) RETURN_IF_ERROR(Put(e, ""));
      return true;
    case DeidAction::kDummy:
      RETURN_IF_ERROR(PutDummy(e));
      return true;
    case DeidAction::kKeep:
      return true;
    case DeidAction::kUid:
      if (vr != EVR_UI) return false;
      RETURN_IF_ERROR(MapUids(e));
      return true;
    case DeidAction::kClean:
      return Clean(e, depth);
    case DeidAction::kRemove:
      break;
  }
  return false;
}

Status Deidentifier::Put(DcmElement& e, const std::string& value) {
  OFCondition c = e.putOFStringArray(OFString(value.data(), value.size()));
  if (c.bad()) {
    return Status::Internal("cannot set " + std::string(e.getTag().toString().c_str()) + ": " +
                            c.text());
  }
  return Status::Ok();
}

Status Deidentifier::PutDummy(DcmElement& e) {
  switch (e.ident()) {
    case EVR_DA: return Put(e, kDummyDate);
    case EVR_TM: return Put(e, kDummyTime);
    case EVR_DT: return Put(e, kDummyDateTime);
    case EVR_AS: return Put(e, kDummyAge);
    case EVR_UR: return Put(e, kDummyUri);
    // A remapped UID is a dummy that keeps references consistent.
    case EVR_UI: return MapUids(e);
    case EVR_IS: case EVR_DS: case EVR_US: case EVR_SS: case EVR_UL: case EVR_SL:
    case EVR_FL: case EVR_FD: case EVR_UV: case EVR_SV:
      return Put(e, "0");
    default:
      break;
  }
  if (IsText(e.ident()) || e.ident() == EVR_CS) return Put(e, kDummyText);
  // Binary values (OB, OW...) have no meaningful dummy: zero length.
  if (e.getLength() > 0) return Put(e, "");
  return Status::Ok();
}

// U: every value of a (multi-valued) UI element, mapped.
Status Deidentifier::MapUids(DcmElement& e) {
  const std::string in = GetString(e);
  std::string out;
  size_t start = 0;
  while (start <= in.size()) {
    const size_t end = std::min(in.find('\\', start), in.size());
    std::string_view uid = std::string_view(in).substr(start, end - start);
    while (!uid.empty() && (uid.back() == ' ' || uid.back() == '\0')) uid.remove_suffix(1);
    while (!uid.empty() && uid.front() == ' ') uid.remove_prefix(1);
    if (start > 0) out += '\\';
    if (!uid.empty()) out += keys_.MapUid(uid);
    start = end + 1;
  }
  return Put(e, out);
}

// C (E.3): dates are shifted under the Modified Dates Option (times keep
// their value: a whole-day shift leaves the time of day); free text loses
// every harvested identifier; coded strings and numbers carry no identity
// and are kept; binary values cannot be cleaned and are removed.
Result<bool> Deidentifier::Clean(DcmElement& e, int depth) {
  const DcmEVR vr = e.ident();
  if (vr == EVR_DA || vr == EVR_DT) {
    if (!options_.retain_modified_dates) {
      RETURN_IF_ERROR(PutDummy(e));
      return true;
    }
    const std::string value = GetString(e);
    if (value.empty()) return true;
    std::optional<std::string> shifted = vr == EVR_DA
                                             ? codecs_internal::ShiftDa(value, shift_days_)
                                             : codecs_internal::ShiftDt(value, shift_days_);
    // A date that cannot be shifted (malformed, year only) is emptied.
    RETURN_IF_ERROR(Put(e, shifted.value_or("")));
    return true;
  }
  if (vr == EVR_SQ) {
    RETURN_IF_ERROR(CleanSequence(e, depth));
    return true;
  }
  if (IsText(vr)) {
    RETURN_IF_ERROR(Put(e, cleaner_.Clean(GetString(e))));
    return true;
  }
  if (vr == EVR_UI) {
    RETURN_IF_ERROR(MapUids(e));
    return true;
  }
  return IsStringValued(vr) || vr == EVR_US || vr == EVR_SS || vr == EVR_UL || vr == EVR_SL ||
         vr == EVR_FL || vr == EVR_FD;
}

Status Deidentifier::AddMarkers(DcmDataset& ds) {
  // PatientName and PatientID are Type 2 (PS3.3 C.7.1.1); with the
  // pseudonym they are also what the anonymized view groups by.
  ds.putAndInsertString(DCM_PatientName, pseudonym_.c_str());
  ds.putAndInsertString(DCM_PatientID, pseudonym_.c_str());
  ds.putAndInsertString(DCM_PatientIdentityRemoved, "YES");
  ds.putAndInsertString(DCM_DeidentificationMethod, options_.MethodDescription().c_str());
  delete ds.remove(DCM_DeidentificationMethodCodeSequence);
  for (const MethodCode& code : MethodCodes(options_)) {
    DcmItem* item = nullptr;
    if (ds.findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, item, -2).bad() ||
        item == nullptr) {
      return Status::Internal("cannot add DeidentificationMethodCodeSequence");
    }
    item->putAndInsertString(DCM_CodeValue, code.value);
    item->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
    item->putAndInsertString(DCM_CodeMeaning, code.meaning);
  }
  if (options_.retain_modified_dates) {
    ds.putAndInsertString(DCM_LongitudinalTemporalInformationModified, "MODIFIED");
  }
  return Status::Ok();
}

// Reads the whole file; large values stay deferred on `bytes`.
Status ReadAll(codecs_internal::SpanInputStream& stream, DcmFileFormat& file) {
  file.transferInit();
  const OFCondition c = file.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  file.transferEnd();
  if (stream.exhausted()) return Status::DataLoss("unreadable DICOM: over its work budget");
  if (c.bad()) return Status::DataLoss(std::string("unreadable DICOM: ") + c.text());
  return Status::Ok();
}

// A transfer syntax newer than DCMTK (e.g. Deflated Image Frame Compression,
// 1.2.840.10008.1.2.8.1, PS3.5 2023) is read as best it can, but its
// encapsulated pixel data cannot be written back unchanged.
Status CheckWritable(DcmFileFormat& file) {
  OFString ts;
  if (file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).bad() || ts.empty()) {
    return Status::Ok();  // a raw dataset: DCMTK detected its syntax itself
  }
  if (!CanRewriteTransferSyntax(ts.c_str())) {
    return Status::Unsupported("transfer syntax " + std::string(ts.c_str()) +
                               " is not known to DCMTK; cannot rewrite it");
  }
  return Status::Ok();
}

Result<std::string> WriteAll(DcmFileFormat& file) {
  E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
  if (xfer == EXS_Unknown) xfer = EXS_LittleEndianExplicit;
  std::string out;
  std::vector<char> buffer(1 << 20);
  DcmOutputBufferStream stream(buffer.data(), static_cast<offile_off_t>(buffer.size()));
  file.transferInit();
  const auto drain = [&] {
    void* data = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(data, length);
    out.append(static_cast<const char*>(data), static_cast<size_t>(length));
  };
  OFCondition c = EC_StreamNotifyClient;
  while (c == EC_StreamNotifyClient) {
    c = file.write(stream, xfer, EET_ExplicitLength, nullptr, EGL_recalcGL, EPD_noChange, 0, 0,
                   0, EWM_createNewMeta);
    drain();
  }
  // A deflated dataset (PS3.5 A.5) still sits partly in zlib's buffers.
  stream.flush();
  while (!stream.isFlushed()) {
    drain();
    stream.flush();
  }
  drain();
  file.transferEnd();
  if (c.bad()) return Status::Internal(std::string("DCMTK cannot write the result: ") + c.text());
  return out;
}

Result<std::string> Deidentify(std::span<const uint8_t> original, const DeidOptions& options,
                               const DeidKeys& keys, std::string_view patient_key) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  RETURN_IF_ERROR(ParseDicom(original).status());
  ASSIGN_OR_RETURN(const AnnexETable* table, TableFor(options));
  codecs_internal::SpanInputStream stream(original, 0, /*budgeted=*/true);
  DcmFileFormat file;
  RETURN_IF_ERROR(ReadAll(stream, file));
  RETURN_IF_ERROR(CheckWritable(file));
  DcmDataset& ds = *file.getDataset();
  Deidentifier deid(*table, options, keys, patient_key);
  deid.Harvest(ds, 0);
  deid.SealHarvest();
  RETURN_IF_ERROR(deid.CleanItem(ds, 0));
  RETURN_IF_ERROR(deid.AddMarkers(ds));
  return WriteAll(file);
}

}  // namespace

std::string DeidOptions::MethodDescription() const {
  // De-identification Method is LO (64 characters per value) with VM 1-n
  // (PS3.6), so the profile and each option are separate values.
  std::string out;
  for (const MethodCode& code : MethodCodes(*this)) {
    if (!out.empty()) out += '\\';
    out += code.meaning;
  }
  return out;
}

std::string DeidKeys::MapUid(std::string_view uid) const {
  const Digest d = Hmac(secret_, "uid:" + std::string(uid));
  std::array<uint8_t, 16> first{};
  std::copy(d.begin(), d.begin() + 16, first.begin());
  return "2.25." + codecs_internal::Uint128ToDecimal(first);
}

std::string DeidKeys::PatientPseudonym(std::string_view patient_key) const {
  // RFC 4648 base32 of the first 50 bits: 10 characters.
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const Digest d = Hmac(secret_, "patient:" + std::string(patient_key));
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = bits << 8 | d[i];
  std::string out = "ANON";
  for (int i = 0; i < 10; ++i) out += kAlphabet[(bits >> (59 - 5 * i)) & 31];
  return out;
}

int DeidKeys::DateShiftDays(std::string_view patient_key) const {
  const Digest d = Hmac(secret_, "date:" + std::string(patient_key));
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = bits << 8 | d[i];
  return -(365 + static_cast<int>(bits % 3286));  // -365 .. -3650
}

Result<std::string> DeidentifyDicom(std::span<const uint8_t> original, const DeidOptions& options,
                                    const DeidKeys& keys, std::string_view patient_key) {
  // DCMTK and std may throw (bad_alloc on absurd lengths); nothing escapes.
  try {
    return Deidentify(original, options, keys, patient_key);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("de-identification failed: ") + e.what());
  }
}

bool CanRewriteTransferSyntax(std::string_view transfer_syntax_uid) {
  if (transfer_syntax_uid.empty()) return true;
  return DcmXfer(std::string(transfer_syntax_uid).c_str()).getXfer() != EXS_Unknown;
}

std::string CleanDescriptorText(std::string_view text, const std::vector<std::string>& names,
                                const std::vector<std::string>& values) {
  TextCleaner cleaner;
  for (const std::string& n : names) cleaner.Harvest(n, /*split_words=*/true);
  for (const std::string& v : values) cleaner.Harvest(v, /*split_words=*/false);
  cleaner.Seal();
  return cleaner.Clean(text);
}

}  // namespace dcmfs
