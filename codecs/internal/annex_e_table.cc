// Resolves PS3.15 Annex E Table E.1-1 (2024b, kept as data in
// codecs/data/annexE.json) into one action per attribute.
//
// Rules, in order:
//  1. With an option in force, its column (if the row has one) replaces the
//     basic action (PS3.15 E.3). When several options in force have a column
//     for one row (Date of Manufacture: modified dates says C, device
//     identity says K), the one that retains more wins: K over C.
//  2. Combined basic actions leave the choice to IOD conformance (Type 1, 2
//     or 3 in the instance's IOD), which we cannot know for every IOD and
//     every nesting level without a full IOD table. We choose:
//       Z/D    -> Z  a Type 2 answer is conformant wherever the attribute is
//                    Type 2 or 3; PatientID (Z/D) becomes the pseudonym anyway.
//       X/Z    -> Z  keeps Type 2 attributes present (empty), reveals nothing.
//       X/D    -> D  a dummy is conformant for Type 1, 2 and 3 alike.
//       X/Z/D  -> Z  as Z/D: empty reveals nothing and keeps Type 2 present.
//       X/Z/U* -> U  sequences of references (Referenced Image Sequence,
//                    Source Image Sequence) are kept with the UIDs inside
//                    remapped, so references between the anonymized
//                    instances keep working (E.1.1: "internally consistent").
#include "codecs/internal/annex_e_table.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace dcmfs::codecs_internal {
namespace {

using Json = nlohmann::json;

std::optional<DeidAction> ParseAction(std::string_view a) {
  if (a == "X") return DeidAction::kRemove;
  if (a == "Z" || a == "Z/D" || a == "X/Z" || a == "X/Z/D") return DeidAction::kZero;
  if (a == "D" || a == "X/D") return DeidAction::kDummy;
  if (a == "K") return DeidAction::kKeep;
  if (a == "C") return DeidAction::kClean;
  if (a == "U" || a == "X/Z/U*") return DeidAction::kUid;
  return std::nullopt;
}

std::optional<uint32_t> ParseHex32(const Json& row, const char* key) {
  const auto it = row.find(key);
  if (it == row.end() || !it->is_string()) return std::nullopt;
  const std::string& s = it->get_ref<const std::string&>();
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Rule 1 above: the action of `row` with `options` in force.
Result<DeidAction> RowAction(const Json& row, const std::vector<std::string_view>& options) {
  const auto basic = row.find("basic");
  if (basic == row.end() || !basic->is_string()) {
    return Status::Internal("annexE.json: row without a basic action");
  }
  std::optional<DeidAction> action = ParseAction(basic->get_ref<const std::string&>());
  if (!action) return Status::Internal("annexE.json: unknown action " + basic->dump());
  const auto columns = row.find("options");
  if (columns == row.end() || !columns->is_object()) return *action;
  std::optional<DeidAction> chosen;
  for (std::string_view option : options) {
    const auto it = columns->find(std::string(option));
    if (it == columns->end() || !it->is_string()) continue;
    std::optional<DeidAction> a = ParseAction(it->get_ref<const std::string&>());
    if (!a) return Status::Internal("annexE.json: unknown option action " + it->dump());
    if (!chosen || *a == DeidAction::kKeep) chosen = a;
  }
  return chosen.value_or(*action);
}

}  // namespace

Result<AnnexETable> AnnexETable::Build(const std::vector<std::string_view>& options) {
  const Json doc = Json::parse(AnnexEJson(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::Internal("annexE.json: not JSON");
  const auto rows = doc.find("attributes");
  if (rows == doc.end() || !rows->is_array()) {
    return Status::Internal("annexE.json: no attributes array");
  }
  AnnexETable table;
  for (const Json& row : *rows) {
    if (!row.is_object()) return Status::Internal("annexE.json: row is not an object");
    ASSIGN_OR_RETURN(DeidAction action, RowAction(row, options));
    if (row.value("private", false)) {
      table.private_ = action;
      continue;
    }
    if (row.contains("mask")) {  // (50XX,XXXX), (60XX,3000), (60XX,4000)
      const std::optional<uint32_t> mask = ParseHex32(row, "mask");
      const std::optional<uint32_t> bits = ParseHex32(row, "mask_bits");
      if (!mask || !bits) return Status::Internal("annexE.json: bad mask in " + row.dump());
      table.masked_.push_back({*bits, *mask & *bits, action});
      continue;
    }
    const std::optional<uint32_t> group = ParseHex32(row, "group");
    const std::optional<uint32_t> element = ParseHex32(row, "element");
    if (!group || !element || *group > 0xFFFF || *element > 0xFFFF) {
      return Status::Internal("annexE.json: bad tag in " + row.dump());
    }
    table.exact_[*group << 16 | *element] = action;
  }
  return table;
}

std::optional<DeidAction> AnnexETable::Lookup(uint16_t group, uint16_t element) const {
  // PS3.5 7.8.1: odd groups are private, including their Private Creator
  // elements (gggg,0010-00FF); groups 0001, 0003, 0005, 0007 and FFFF are
  // not private but illegal, and go the same way.
  if (group % 2 == 1) return private_;
  const uint32_t tag = static_cast<uint32_t>(group) << 16 | element;
  if (const auto it = exact_.find(tag); it != exact_.end()) return it->second;
  for (const Masked& m : masked_) {
    if ((tag & m.mask_bits) == m.value) return m.action;
  }
  return std::nullopt;
}

}  // namespace dcmfs::codecs_internal
