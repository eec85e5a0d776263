#include "tools/mount_args.h"

#include <grp.h>
#include <pwd.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace dcmfs::tools {
namespace {

// The option names and the DeidOptions field each sets (PS3.15 E.3 options).
struct AnonOptionName {
  std::string_view name;
  bool DeidOptions::*field;
  bool value;
};
constexpr std::array<AnonOptionName, 5> kAnonOptions{{
    {"retain-patient-chars", &DeidOptions::retain_patient_characteristics, true},
    {"retain-device-id", &DeidOptions::retain_device_identity, true},
    {"clean-descriptors", &DeidOptions::clean_descriptors, true},
    {"retain-safe-private", &DeidOptions::retain_safe_private, true},
    {"no-modified-dates", &DeidOptions::retain_modified_dates, false},
}};

std::optional<uint32_t> ParseNumber(std::string_view s, int base) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// A user or group given by name or number. getpwnam/getgrnam_r rather than
// the non-reentrant forms: cheap, and harmless if called from threads later.
Result<uint32_t> UserId(const std::string& s) {
  if (auto n = ParseNumber(s, 10)) return *n;
  passwd pw{};
  passwd* found = nullptr;
  std::array<char, 16384> buf{};
  if (getpwnam_r(s.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Status::InvalidArgument("--identified-owner: no such user: " + s);
  }
  return static_cast<uint32_t>(found->pw_uid);
}

Result<uint32_t> GroupId(const std::string& s) {
  if (auto n = ParseNumber(s, 10)) return *n;
  group gr{};
  group* found = nullptr;
  std::array<char, 16384> buf{};
  if (getgrnam_r(s.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Status::InvalidArgument("--identified-group: no such group: " + s);
  }
  return static_cast<uint32_t>(found->gr_gid);
}

Result<uint32_t> FolderMode(const std::string& s) {
  std::optional<uint32_t> mode = ParseNumber(s, 8);
  if (!mode || *mode > 0777) {
    return Status::InvalidArgument("--identified-mode: want an octal mode such as 0750, not " + s);
  }
  if ((*mode & 0500) != 0500) {
    return Status::InvalidArgument("--identified-mode: the owner needs read and search (0500) "
                                   "in " + s);
  }
  // The trees are read-only: "0750" is what people type, and write bits
  // would only mislead `ls -l`, so they are dropped rather than refused.
  return *mode & 0555;
}

Status ApplyAnonOption(std::string_view name, DeidOptions& deid) {
  for (const AnonOptionName& o : kAnonOptions) {
    if (o.name == name) {
      deid.*o.field = o.value;
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("--anon-option: unknown option '" + std::string(name) +
                                 "'; known: " + AnonOptionNames());
}

}  // namespace

std::string AnonOptionNames() {
  std::string out;
  for (const AnonOptionName& o : kAnonOptions) {
    if (!out.empty()) out += ", ";
    out += o.name;
  }
  return out;
}

Status ApplyAccessArgs(const AccessArgs& args, FilesystemOptions& fs) {
  fs.anonymized_view = !args.no_anonymized;
  fs.anon_include_burned_in = args.anon_include_burned_in;
  for (const std::string& list : args.anon_options) {
    // CLI11 splits on commas already; split again so "a,b" works in any parser.
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      std::string_view name = std::string_view(list).substr(start, end - start);
      if (!name.empty()) RETURN_IF_ERROR(ApplyAnonOption(name, fs.deid));
      start = end + 1;
    }
  }
  if (!args.identified_owner.empty()) {
    ASSIGN_OR_RETURN(fs.identified_uid, UserId(args.identified_owner));
  }
  if (!args.identified_group.empty()) {
    ASSIGN_OR_RETURN(fs.identified_gid, GroupId(args.identified_group));
  }
  if (!args.identified_mode.empty()) {
    ASSIGN_OR_RETURN(fs.identified_mode, FolderMode(args.identified_mode));
  }
  if (args.no_anonymized && (args.anon_include_burned_in || !args.anon_options.empty())) {
    return Status::InvalidArgument(
        "--no-anonymized: --anon-option and --anon-include-burned-in need the anonymized view");
  }
  return Status::Ok();
}

Status TakeDcmfsMountOptions(std::vector<std::string>& fuse_options, FilesystemOptions& fs) {
  std::vector<std::string> kept;
  for (const std::string& list : fuse_options) {
    std::string rest;  // what libfuse still gets from this -o value
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      const std::string item = list.substr(start, end - start);
      if (item.rfind("iiif_base=", 0) == 0) {
        std::string base = item.substr(10);
        while (!base.empty() && base.back() == '/') base.pop_back();
        if ((base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) ||
            base.find_first_of("\n\r ") != std::string::npos) {
          return Status::InvalidArgument("-o iiif_base: not an http(s) URL: " + item.substr(10));
        }
        fs.iiif.base = base;
      } else if (!item.empty()) {
        if (!rest.empty()) rest.push_back(',');
        rest += item;
      }
      start = end + 1;
    }
    if (!rest.empty()) kept.push_back(rest);
  }
  fuse_options = std::move(kept);
  return Status::Ok();
}

}  // namespace dcmfs::tools
