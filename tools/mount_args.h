// The `dcmfs mount` options of the anonymized view and of who may see the
// identified trees, as typed on the command line, and their translation into
// FilesystemOptions. Kept apart from dcmfs_main.cc so that the checks (and
// their messages) are one place.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "fs/filesystem.h"

namespace dcmfs::tools {

struct AccessArgs {
  bool no_anonymized = false;
  // Names from --anon-option (each may itself be a comma list):
  // retain-patient-chars, retain-device-id, clean-descriptors,
  // retain-safe-private, no-modified-dates.
  std::vector<std::string> anon_options;
  bool anon_include_burned_in = false;
  std::string identified_owner;  // user name or number; "" = the mounting user
  std::string identified_group;  // group name or number; "" = the mounting group
  std::string identified_mode;   // octal, e.g. "0750"; "" = 0555
};

// The names --anon-option accepts, for --help and error messages.
std::string AnonOptionNames();

// Sets the anonymized-view and identified-tree fields of `fs`. Errors:
// InvalidArgument naming the option and the bad value (unknown option name,
// unknown user or group, a mode that is not octal or has bits beyond 0777,
// a mode that gives the owner no read/traverse access). Write bits of the
// mode are dropped: the mount is read-only.
Status ApplyAccessArgs(const AccessArgs& args, FilesystemOptions& fs);

// Takes dcmfs's own entries out of the `-o` values (which otherwise go to
// libfuse, e.g. "allow_other,iiif_base=https://host/prefix"):
//   iiif_base=URL  the scheme, host and path under which the mount root is
//                  published (info.json ids, manifests); default
//                  http://localhost. A trailing '/' is dropped.
// InvalidArgument when the URL is not http(s):// or holds a newline.
Status TakeDcmfsMountOptions(std::vector<std::string>& fuse_options, FilesystemOptions& fs);

}  // namespace dcmfs::tools
