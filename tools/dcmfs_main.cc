// dcmfs: the command line. Parses arguments with CLI11 and calls one
// subcommand in tools/commands.cc; nothing else happens here.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "base/log.h"
#include "index/archive_replica.h"

#include "tools/attach.h"
#include "tools/bagit_export.h"
#include "tools/commands.h"
#include "tools/mount_args.h"
#include "tools/operations.h"
#include "tools/receive_service.h"
#include "tools/store_args.h"

namespace dcmfs::tools {
namespace {

// The anonymized view and who may see the identified trees (docs/README.md,
// "The anonymized view" and "Who may see what").
void AddAccessOptions(CLI::App& mount_cmd, AccessArgs& access) {
  mount_cmd.add_flag("--no-anonymized", access.no_anonymized, "do not show /anonymized");
  mount_cmd.add_option("--anon-option", access.anon_options,
                       "PS3.15 profile option of /anonymized, repeatable or comma-separated: " +
                           AnonOptionNames() + " (default: basic profile with modified dates)")
      ->delimiter(',')
      ->allow_extra_args(false);
  mount_cmd.add_flag("--anon-include-burned-in", access.anon_include_burned_in,
                     "show images that may carry burned-in text in /anonymized "
                     "(BurnedInAnnotation YES, or none for US, SC, XC, ES, OT); by default "
                     "they are left out and listed in EXCLUDED.txt");
  mount_cmd.add_option("--identified-owner", access.identified_owner,
                       "owner (user name or uid) of /patients and /studies (default: you)");
  mount_cmd.add_option("--identified-group", access.identified_group,
                       "group (name or gid) of /patients and /studies (default: yours)");
  mount_cmd.add_option("--identified-mode", access.identified_mode,
                       "octal folder mode of /patients and /studies, e.g. 0750 (default 0555); "
                       "files get its read bits. Use with -o allow_other");
}

// The DICOM Storage SCP's options, shared by `dcmfs scp` and `dcmfs mount`.
void AddScpOptions(CLI::App& cmd, ScpOptions& scp, bool port_required) {
  auto* port = cmd.add_option(port_required ? "--port" : "--scp-port", scp.port,
                              "TCP port of the DICOM Storage SCP (C-STORE, C-ECHO)");
  if (port_required) port->capture_default_str();
  cmd.add_option("--aet", scp.ae_title, "our AE title (default DCMFS)");
  cmd.add_option("--allow-aet", scp.allowed_calling_aets,
                 "calling AE titles allowed to send, repeatable or comma-separated "
                 "(default: any); others are rejected at association")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd.add_option("--max-associations", scp.max_associations,
                 "associations served at once (default 32)");
  cmd.add_option("--idle-timeout", scp.idle_timeout_s,
                 "seconds without a message before an association is aborted (default 60)");
}

void AddS3Options(CLI::App& cmd, S3Args& s3) {
  cmd.add_option("--s3-endpoint", s3.endpoint,
                 "keep the blobs in this S3-compatible store (http://host:port); written to "
                 "ARCHIVE/store.conf on first use, not needed afterwards");
  cmd.add_option("--s3-bucket", s3.bucket, "bucket (created if missing by a writer)");
  cmd.add_option("--s3-region", s3.region, "SigV4 region (default us-east-1)");
  cmd.add_option("--s3-prefix", s3.prefix, "key prefix inside the bucket (a folder)");
  cmd.add_option("--s3-credentials", s3.credentials,
                 "file (mode 0600) with S3_ACCESS_KEY=... and S3_SECRET_KEY=... lines; "
                 "default: those environment variables");
}

// `archive_only`: a first, silent pass that only finds the ARCHIVE argument
// (so that ARCHIVE/dcmfs.conf can be read in the real pass); nothing runs.
int Run(int argc, char** argv, std::string* archive_only = nullptr) {
  CLI::App app{"dcmfs: a DICOM archive mounted as a filesystem"};
  app.require_subcommand(1);
  app.set_config("--config", "",
                 "INI file of options, one [section] per command (e.g. [mount] cache-size=8G); "
                 "repeatable, later files win, the command line wins over all. Read by "
                 "default: /etc/dcmfs.conf ($DCMFS_CONFIG), then ARCHIVE/dcmfs.conf")
      ->expected(0, 8);
  std::string log_level;
  bool syslog = false;
  app.add_option("--log-level", log_level, "debug, info (default), warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_flag("--syslog", syslog, "log to syslog (facility daemon) instead of stderr");

  IngestArgs ingest;
  auto* ingest_cmd = app.add_subcommand(
      "ingest",
      "Store DICOM files in ARCHIVE (created if missing). Exit 0: all stored or already "
      "present; 2: some files quarantined; 1: the archive failed.");
  ingest_cmd->add_option("ARCHIVE", ingest.archive, "archive folder")->required();
  ingest_cmd->add_option("PATH", ingest.paths, "files or folders (walked recursively)")
      ->required();
  ingest_cmd->add_option("--threads", ingest.threads, "worker threads (default: all cores)");
  ingest_cmd->add_flag("!--no-progress", ingest.progress, "no progress line on stderr");
  ingest_cmd->add_flag("--force-writer", ingest.force_writer,
                       "on an object store: take the writer lease from another live writer "
                       "(which then stops publishing)");
  S3Args s3;
  AddS3Options(*ingest_cmd, s3);

  MountOptions mount;
  auto* mount_cmd = app.add_subcommand(
      "mount",
      "Mount ARCHIVE on MOUNTPOINT, read-only but for /incoming (files copied there are "
      "ingested when closed). Without -f the command returns once the mount "
      "is ready. Unmount with `fusermount3 -u MOUNTPOINT` (or SIGINT/SIGTERM with -f).");
  mount_cmd->add_option("ARCHIVE", mount.archive_root, "archive folder")->required();
  mount_cmd->add_option("MOUNTPOINT", mount.mountpoint, "an empty folder")->required();
  mount_cmd->add_flag("-f,--foreground", mount.foreground, "stay in the foreground");
  mount_cmd->add_flag("-d,--debug", mount.debug, "trace FUSE requests (implies -f)");
  mount_cmd->add_option("-o", mount.fuse_options,
                        "options for libfuse/the kernel: allow_other, max_read=N, ...; and "
                        "iiif_base=URL (where the mount root is published; default "
                        "http://localhost)")
      ->allow_extra_args(false);  // one value per -o, so positionals may follow
  mount_cmd->add_flag("-s,--single-threaded", mount.single_threaded, "one worker thread");
  mount_cmd->add_option("--max-idle-threads", mount.max_idle_threads, "idle FUSE workers kept");
  mount_cmd->add_flag("!--no-incoming", mount.fs.incoming,
                      "no writable /incoming: a fully read-only mount (as with -o ro)");
  mount_cmd->add_flag("!--no-persistent-cache", mount.fs.persistent_cache,
                      "keep derived files (and, over S3, fetched blob frames) in memory only");
  mount_cmd->add_option("--cache-size", mount.fs.cache_max_bytes,
                        "bound of the persistent derived-file cache in ARCHIVE/cache "
                        "(bytes; k, M, G suffixes; default 4G)")
      ->transform(CLI::AsSizeValue(false));
  mount_cmd->add_option("--blob-cache-size", mount.fs.blob_frame_cache_bytes,
                        "memory for decompressed blob frames shared by all readers "
                        "(default 64M)")
      ->transform(CLI::AsSizeValue(false));
  mount_cmd->add_option("--blob-disk-cache-size", mount.fs.blob_disk_cache_bytes,
                        "blobs on S3: bound of the on-disk cache of fetched frames in "
                        "ARCHIVE/blob-cache, kept across mounts (default 1G; 0: none)")
      ->transform(CLI::AsSizeValue(false));

  double poll_interval_s = 2.0;
  mount_cmd->add_option("--poll-interval", poll_interval_s,
                        "on a replica archive (made by `dcmfs attach`): seconds between polls "
                        "of the object store's index log (default 2)")
      ->check(CLI::Range(0.05, 3600.0));
  AddS3Options(*mount_cmd, s3);
  AccessArgs access;
  AddAccessOptions(*mount_cmd, access);
  ScpOptions mount_scp;
  mount_scp.port = 0;  // 0: no SCP in the mount
  AddScpOptions(*mount_cmd, mount_scp, false);

  ScpOptions scp;
  std::string scp_archive;
  auto* scp_cmd = app.add_subcommand(
      "scp",
      "Receive DICOM over the network into ARCHIVE (created if missing): a Storage SCP with "
      "C-ECHO, in the foreground until SIGINT/SIGTERM. It is the archive's writer meanwhile.");
  scp_cmd->add_option("ARCHIVE", scp_archive, "archive folder")->required();
  AddScpOptions(*scp_cmd, scp, true);
  AddS3Options(*scp_cmd, s3);

  AttachArgs attach;
  auto* attach_cmd = app.add_subcommand(
      "attach",
      "Make ARCHIVE a read-only replica of an archive kept on an object store: it follows the "
      "writer's index log in the store; `dcmfs mount` it on as many workstations as you like");
  attach_cmd->add_option("ARCHIVE", attach.archive, "new folder (must not exist, or be empty)")
      ->required();
  attach_cmd->add_option("--store-dir", attach.store_dir,
                         "the archive's object store as a folder (a shared filesystem), "
                         "instead of --s3-*");
  AddS3Options(*attach_cmd, s3);

  std::string archive;
  auto* reindex_cmd = app.add_subcommand("reindex", "Rebuild ARCHIVE/index from the blobs");
  reindex_cmd->add_option("ARCHIVE", archive, "archive folder")->required();
  bool reindex_force_writer = false;
  reindex_cmd->add_flag("--force-writer", reindex_force_writer,
                        "on an object store: take the writer lease from another live writer");
  AddS3Options(*reindex_cmd, s3);
  auto* verify_cmd = app.add_subcommand(
      "verify", "Re-hash every blob; exit 1 and list problems by blob and instance");
  verify_cmd->add_option("ARCHIVE", archive, "archive folder")->required();
  AddS3Options(*verify_cmd, s3);
  auto* cache_cmd = app.add_subcommand("cache-stats", "Statistics of the derived-file cache");
  cache_cmd->add_option("ARCHIVE", archive, "archive folder")->required();
  auto* status_cmd = app.add_subcommand("status", "Counts of patients, studies, series, instances");
  status_cmd->add_option("ARCHIVE", archive, "archive folder")->required();

  BackupArgs backup;
  auto* backup_cmd = app.add_subcommand(
      "backup",
      "Consistent copy of ARCHIVE into DEST (a new archive), also while it is mounted and "
      "receiving: catalog checkpoint, blobs hard-linked when on the same filesystem");
  backup_cmd->add_option("ARCHIVE", backup.archive, "archive folder")->required();
  backup_cmd->add_option("DEST", backup.dest, "new folder (must not exist, or be empty)")
      ->required();
  backup_cmd->add_flag("--copy", backup.copy, "copy every file, never hard-link");

  BagitExportArgs bag;
  bool bagit = false;
  auto* export_cmd = app.add_subcommand(
      "export",
      "Write a BagIt 1.0 bag of ARCHIVE (or of the patients, studies, series selected) into "
      "DEST: data/<patient>/<study>/<series>/, manifest-sha256.txt, tagmanifest-sha256.txt, "
      "bag-info.txt. `cd DEST && sha256sum -c manifest-sha256.txt` checks it.");
  export_cmd->add_option("ARCHIVE", bag.archive, "archive folder")->required();
  export_cmd->add_option("DEST", bag.dest, "new folder (must not exist, or be empty)")->required();
  export_cmd->add_flag("--bagit", bagit, "BagIt 1.0 (the only format; may be left out)");
  export_cmd->add_flag("--anonymized", bag.anonymized,
                       "export the de-identified files of /anonymized instead of the originals");
  export_cmd->add_option("--patient", bag.patients, "PatientID or patient folder name (repeatable)")
      ->allow_extra_args(false);
  export_cmd->add_option("--study", bag.studies,
                         "StudyInstanceUID, AccessionNumber or study folder name (repeatable)")
      ->allow_extra_args(false);
  export_cmd->add_option("--series", bag.series,
                         "SeriesInstanceUID or series folder name (repeatable)")
      ->allow_extra_args(false);
  export_cmd->add_option("--description", bag.description, "External-Description of bag-info.txt");

  SynthArgs synth;
  auto* synth_cmd = app.add_subcommand("synth", "Write the synthetic DICOM test set to OUT_DIR");
  synth_cmd->add_option("OUT_DIR", synth.out_dir, "output folder")->required();
  synth_cmd->add_option("--rows", synth.rows, "image rows");
  synth_cmd->add_option("--columns", synth.columns, "image columns");
  synth_cmd->add_option("--ct-slices", synth.ct_slices, "slices per CT series");
  synth_cmd->add_option("--mr-slices", synth.mr_slices, "slices per MR series");
  synth_cmd->add_option("--seed", synth.seed, "pixel noise seed");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return archive_only != nullptr ? kExitFailure : app.exit(e);
  }
  if (archive_only != nullptr) {
    for (const std::string* a : {&ingest.archive, &mount.archive_root, &archive, &scp_archive,
                                 &attach.archive,
                                 &backup.archive, &bag.archive}) {
      if (!a->empty()) *archive_only = *a;
    }
    return kExitOk;
  }
  LogLevel level;
  if (!log_level.empty() && ParseLogLevel(log_level, level)) SetLogLevel(level);
  if (syslog) SetLogToSyslog(true);
  // --s3-* flags: a writer (ingest, scp) makes the bucket; a reader only records it.
  for (auto [cmd, dir, writer] : {std::tuple{ingest_cmd, &ingest.archive, true},
                                  std::tuple{scp_cmd, &scp_archive, true},
                                  std::tuple{mount_cmd, &mount.archive_root, false},
                                  std::tuple{reindex_cmd, &archive, false},
                                  std::tuple{verify_cmd, &archive, false},
                                  std::tuple{attach_cmd, &attach.archive, false}}) {
    if (!*cmd) continue;
    Status configured = ConfigureArchiveStore(*dir, s3, writer);
    if (!configured.ok()) {
      std::cerr << "dcmfs: " << configured.ToString() << "\n";
      return kExitFailure;
    }
  }
  if (*ingest_cmd) return Ingest(ingest);
  if (*mount_cmd) {
    mount.fs.uid = getuid();
    mount.fs.gid = getgid();
    Status applied = ApplyAccessArgs(access, mount.fs);
    if (applied.ok()) applied = TakeDcmfsMountOptions(mount.fuse_options, mount.fs);
    if (!applied.ok()) {
      std::cerr << "dcmfs mount: " << applied.message() << "\n";
      return kExitFailure;
    }
    // `dcmfs mount NEW_FOLDER --s3-...`: a workstation that knows only the
    // bucket; its folder becomes a replica, as with `dcmfs attach`.
    std::error_code exists_ec;
    if (s3.given() && !std::filesystem::exists(mount.archive_root + "/index", exists_ec) &&
        !IsReplicaArchive(mount.archive_root)) {
      Status marked = MarkReplicaArchive(mount.archive_root);
      if (!marked.ok()) {
        std::cerr << "dcmfs mount: " << marked.ToString() << "\n";
        return kExitFailure;
      }
    }
    if (IsReplicaArchive(mount.archive_root)) {
      // A replica follows the store's index log; nothing is ingested into it.
      mount.fs.catch_up_interval =
          std::chrono::milliseconds(static_cast<int64_t>(poll_interval_s * 1000));
      mount.fs.incoming = false;
    }
    std::error_code ec;
    mount.start_services =
        MountHook(std::filesystem::absolute(mount.archive_root, ec).lexically_normal(), mount_scp);
    return Mount(mount);
  }
  if (*scp_cmd) return RunScpForeground(scp_archive, scp);
  if (*attach_cmd) return Attach(attach);
  if (*reindex_cmd) return Reindex(archive, reindex_force_writer);
  if (*verify_cmd) return Verify(archive);
  if (*cache_cmd) return CacheStats(archive);
  if (*status_cmd) return ShowStatus(archive);
  if (*synth_cmd) return Synth(synth);
  if (*backup_cmd) return RunBackup(backup);
  if (*export_cmd) return RunExportBagit(bag);
  return kExitFailure;
}

}  // namespace
}  // namespace dcmfs::tools

namespace dcmfs::tools {
namespace {

// argv with "--config FILE" for /etc/dcmfs.conf (or $DCMFS_CONFIG) and
// ARCHIVE/dcmfs.conf, those that exist, placed first so that the user's own
// --config and every option typed win over them.
std::vector<std::string> WithDefaultConfigs(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::vector<std::string> files;
  const char* system = std::getenv("DCMFS_CONFIG");
  files.push_back(system != nullptr ? system : "/etc/dcmfs.conf");
  std::string archive;
  {
    // The first pass must not print: --help and errors are for the real one.
    std::vector<char*> copy(argv, argv + argc);
    Run(argc, copy.data(), &archive);
  }
  if (!archive.empty()) files.push_back(archive + "/dcmfs.conf");
  std::vector<std::string> configs;
  for (const std::string& f : files) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(f, ec)) configs.insert(configs.end(), {"--config", f});
  }
  args.insert(args.begin() + 1, configs.begin(), configs.end());
  return args;
}

}  // namespace
}  // namespace dcmfs::tools

int main(int argc, char** argv) {
  // STYLE: main() is one of the three places that catch.
  try {
    std::vector<std::string> args = dcmfs::tools::WithDefaultConfigs(argc, argv);
    std::vector<char*> pointers;
    for (std::string& a : args) pointers.push_back(a.data());
    return dcmfs::tools::Run(static_cast<int>(pointers.size()), pointers.data());
  } catch (const std::exception& e) {
    std::cerr << "dcmfs: unexpected error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "dcmfs: unexpected error\n";
  }
  return dcmfs::tools::kExitFailure;
}
