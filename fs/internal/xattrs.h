// The DICOM fields exposed as extended attributes ("user.dicom.<Keyword>",
// keywords as in PS3.6) on patient, study and series folders and instance
// files. Folders carry their own level and the levels above it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "index/catalog.h"
#include "index/inode.h"

namespace dcmfs {

inline constexpr std::string_view kXattrPrefix = "user.dicom.";

// (full attribute name, value) pairs; empty values are left out.
using XattrList = std::vector<std::pair<std::string, std::string>>;

// Collects attributes, leaving out empty values.
class XattrBuilder {
 public:
  void Add(std::string_view keyword, const std::string& value) {
    if (value.empty()) return;
    list_.emplace_back(std::string(kXattrPrefix) + std::string(keyword), value);
  }
  void Add(std::string_view keyword, const std::optional<int64_t>& value) {
    if (value) Add(keyword, std::to_string(*value));
  }
  void AddCount(std::string_view keyword, uint64_t value) {
    if (value != 0) Add(keyword, std::to_string(value));
  }
  XattrList Take() { return std::move(list_); }

 private:
  XattrList list_;
};

// `ref` as in DirEntry::ref. Other kinds have no attributes (empty list).
// Errors from the catalog (NotFound if the record vanished).
Result<XattrList> DicomXattrs(const Catalog& catalog, NodeKind kind, std::string_view ref);

}  // namespace dcmfs
