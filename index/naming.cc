// Names of the mounted tree (see index/naming.h and docs/semantics.md).
//
// Every name is built from pieces that are each made safe, then joined, then
// bounded. Text from DICOM is already UTF-8 (codecs/ decodes the
// SpecificCharacterSet, PS3.5 6.1), but we still validate it: a name is
// handed to the kernel and to every tool that lists the tree.
#include "index/naming.h"

#include <cstdio>

namespace dcmfs {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i, uint32_t* code_point) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return len;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// Valid UTF-8 with '/' replaced and control characters dropped; not trimmed or cut.
std::string Clean(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    uint32_t cp = 0;
    const size_t len = Utf8SequenceLength(raw, i, &cp);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    if (cp == '/') {
      out.push_back('_');
    } else if (!IsControl(cp)) {
      out.append(raw.substr(i, len));
    }
    i += len;
  }
  return out;
}

// The longest prefix of valid UTF-8 `s` of at most `max_bytes` bytes ending on a character boundary.
std::string_view CutOnBoundary(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<uint8_t>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

// Safe, or "" when nothing printable remains.
std::string SafeOrEmpty(std::string_view raw, size_t max_bytes) {
  const std::string cleaned = Clean(raw);
  std::string_view v = TrimBlanks(CutOnBoundary(TrimBlanks(cleaned), max_bytes));
  if (v == "." || v == "..") return "";
  return std::string(v);
}

// "<head> <tail>" (or either alone) where `head` is cut so that `tail` always fits.
std::string JoinBounded(const std::string& head, const std::string& tail) {
  if (tail.empty()) return head;
  if (head.empty()) return tail;
  const size_t room = tail.size() + 1 < kMaxNameBytes ? kMaxNameBytes - tail.size() - 1 : 0;
  std::string cut(TrimBlanks(CutOnBoundary(head, room)));
  if (cut.empty()) return tail;
  return cut + " " + tail;
}

// PN (PS3.5 6.2.1): up to three component groups separated by '=' (alphabetic,
// ideographic, phonetic), each with five '^'-separated components. We show
// the first non-empty group with its non-empty components joined by spaces.
std::string PersonNameForDisplay(std::string_view pn) {
  std::string_view group;
  while (true) {
    const size_t eq = pn.find('=');
    group = pn.substr(0, eq);
    if (!TrimBlanks(group).empty() || eq == std::string_view::npos) break;
    pn.remove_prefix(eq + 1);
  }
  std::string out;
  while (true) {
    const size_t caret = group.find('^');
    const std::string_view part = TrimBlanks(group.substr(0, caret));
    if (!part.empty()) {
      if (!out.empty()) out.push_back(' ');
      out.append(part);
    }
    if (caret == std::string_view::npos) break;
    group.remove_prefix(caret + 1);
  }
  return out;
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// DA "YYYYMMDD" (PS3.5 6.2) -> "YYYY-MM-DD"; anything else is shown as given.
std::string DisplayDate(std::string_view da) {
  da = TrimBlanks(da);
  if (da.size() == 8 && AllDigits(da)) {
    const int month = (da[4] - '0') * 10 + (da[5] - '0');
    const int day = (da[6] - '0') * 10 + (da[7] - '0');
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31) {
      return std::string(da.substr(0, 4)) + "-" + std::string(da.substr(4, 2)) + "-" +
             std::string(da.substr(6, 2));
    }
  }
  return std::string(da);
}

}  // namespace

std::string SafeName(std::string_view raw, std::string_view fallback) {
  std::string name = SafeOrEmpty(raw, kMaxNameBytes);
  if (!name.empty()) return name;
  name = SafeOrEmpty(fallback, kMaxNameBytes);
  return name.empty() ? std::string("_") : name;
}

std::string PatientFolderName(std::string_view patient_name, std::string_view patient_id) {
  const std::string name = SafeOrEmpty(PersonNameForDisplay(patient_name), kMaxNameBytes);
  const std::string id = SafeOrEmpty(patient_id, kMaxNameBytes / 2);
  const std::string tail = id.empty() ? "" : "(" + id + ")";
  return SafeName(JoinBounded(name.empty() ? "Unknown" : name, tail), "Unknown");
}

std::string StudyFolderName(std::string_view study_date, std::string_view description,
                            std::string_view accession) {
  const std::string date = SafeOrEmpty(DisplayDate(study_date), kMaxNameBytes / 4);
  const std::string desc = SafeOrEmpty(description, kMaxNameBytes);
  const std::string acc = SafeOrEmpty(accession, kMaxNameBytes / 4);
  const std::string tail = acc.empty() ? "" : "(" + acc + ")";
  const std::string head = date.empty() ? desc : (desc.empty() ? date : date + " " + desc);
  return SafeName(JoinBounded(head, tail), "Unknown study");
}

std::string SeriesFolderName(std::optional<int64_t> number, std::string_view modality,
                             std::string_view description) {
  std::string head = number ? std::to_string(*number) : "";
  const std::string mod = SafeOrEmpty(modality, kMaxNameBytes / 4);
  if (!mod.empty()) head = head.empty() ? mod : head + " " + mod;
  const std::string desc = SafeOrEmpty(description, kMaxNameBytes);
  if (!desc.empty()) head = head.empty() ? desc : head + " " + desc;
  return SafeName(head, "Unknown series");
}

std::string InstanceFileName(const InstanceMeta& meta) {
  if (meta.instance_number) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%04lld", static_cast<long long>(*meta.instance_number));
    return std::string(buf) + ".dcm";
  }
  const std::string uid = SafeOrEmpty(meta.sop_uid, kMaxNameBytes - 4);
  return (uid.empty() ? std::string("instance") : uid) + ".dcm";
}

std::string WithClashSuffix(std::string_view base_name, std::string_view identity) {
  const std::string suffix = " ~" + ToHex(Sha256(identity)).substr(0, 6);
  constexpr std::string_view kExt = ".dcm";
  if (base_name.size() > kExt.size() && base_name.ends_with(kExt)) {
    return std::string(base_name.substr(0, base_name.size() - kExt.size())) + suffix +
           std::string(kExt);
  }
  return std::string(base_name) + suffix;
}

}  // namespace dcmfs
