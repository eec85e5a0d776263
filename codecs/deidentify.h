// De-identification of DICOM instances per DICOM PS3.15 Annex E, Basic
// Application Level Confidentiality Profile, with its options, driven by the
// standard's attribute table kept as data (codecs/data/annexE.json, Table
// E.1-1, revision 2024b) rather than a hand-picked list of tags.
//
// Deterministic: the same input, options and secret give byte-identical
// output, so the anonymized view is stable across mounts and machines.
// Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace dcmfs {

struct DeidOptions {
  // Retain Longitudinal Temporal Information with Modified Dates: dates and
  // times are shifted by a per-patient number of days instead of removed.
  bool retain_modified_dates = true;
  bool retain_patient_characteristics = false;  // sex, age, size, weight, ...
  bool retain_device_identity = false;
  bool clean_descriptors = false;  // keep descriptions, cleaned of identifiers
  bool retain_safe_private = false;  // default: every private tag removed
  // The CID 7050 codes of the above, for DeidentificationMethodCodeSequence.
  std::string MethodDescription() const;
};

// The keyed parts of de-identification, all derived from the archive's secret
// with HMAC-SHA256 so that the same original maps to the same result
// everywhere and nothing can be reversed without the secret.
class DeidKeys {
 public:
  explicit DeidKeys(std::string secret) : secret_(std::move(secret)) {}
  // "2.25.<decimal of 128 bits of HMAC(uid)>": a valid UID (PS3.5 B.2).
  std::string MapUid(std::string_view uid) const;
  // A stable pseudonym for a patient identity (the catalog's patient key):
  // "ANON" + 10 characters of base32, used for PatientName, PatientID and paths.
  std::string PatientPseudonym(std::string_view patient_key) const;
  // Days to add to every date of this patient: between -3650 and -365, so
  // intervals between a patient's dates are preserved.
  int DateShiftDays(std::string_view patient_key) const;

 private:
  std::string secret_;
};

// False for transfer syntaxes DCMTK cannot write back unchanged (for example
// Deflated Image Frame Compression, 1.2.840.10008.1.2.8.1, unknown to DCMTK
// 3.6.7): DeidentifyDicom returns Unsupported for such files, so callers can
// leave them out before trying. "" (a raw dataset) counts as rewritable.
bool CanRewriteTransferSyntax(std::string_view transfer_syntax_uid);

// De-identifies one Part 10 file. `patient_key` identifies the patient for
// pseudonym and date shift (the catalog's patient key). Pixel data and its
// encapsulation are untouched; the result is a valid DICOM file that DCMTK
// and pydicom read, with PatientIdentityRemoved = YES,
// DeidentificationMethod and DeidentificationMethodCodeSequence added.
// Errors: DataLoss if `original` does not parse; Internal if DCMTK cannot
// write the result.
Result<std::string> DeidentifyDicom(std::span<const uint8_t> original, const DeidOptions& options,
                                    const DeidKeys& keys, std::string_view patient_key);

// The Clean Descriptors option for text shown outside a dataset (the
// anonymized view's folder names): `text` with every identifying value the
// dataset cleaning would catch replaced by "***". `names` are split into
// their words as person names are; `values` are matched whole.
std::string CleanDescriptorText(std::string_view text, const std::vector<std::string>& names,
                                const std::vector<std::string>& values);

}  // namespace dcmfs
