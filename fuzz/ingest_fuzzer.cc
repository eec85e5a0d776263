// Fuzzes the ingest path: bytes in, archive consistent, no crash.
//
// Each input is written to a file and ingested into one archive kept for the
// whole run. Afterwards the archive must agree with what the parser said:
// accepted bytes are indexed and read back identical from the blob store,
// refused bytes are in quarantine/ — never lost, never half-indexed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "base/check.h"
#include "base/log.h"
#include "codecs/dicom_parse.h"
#include "codecs/sha256.h"
#include "index/archive_layout.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "index/ingest.h"

namespace {

struct Archive {
  dcmfs::ArchiveLayout layout;
  std::unique_ptr<dcmfs::Catalog> catalog;
  std::unique_ptr<dcmfs::BlobStore> blobs;
  std::unique_ptr<dcmfs::Quarantine> quarantine;
  std::string input_path;
};

Archive& TheArchive() {
  static Archive* archive = [] {
    dcmfs::SetLogLevel(dcmfs::LogLevel::kError);  // one summary line per input is noise here
    auto* a = new Archive;
    std::string tmpl = "/tmp/dcmfs-fuzz-XXXXXX";
    CHECK(mkdtemp(tmpl.data()) != nullptr);
    a->layout.root = tmpl;
    std::filesystem::create_directories(a->layout.quarantine());
    dcmfs::CatalogOptions copts;
    copts.path = a->layout.index();
    copts.create_if_missing = true;
    auto catalog = dcmfs::Catalog::Open(copts);
    CHECK(catalog.ok()) << catalog.status().ToString();
    a->catalog = std::move(catalog).value();
    dcmfs::LocalBlobStoreOptions bopts;
    bopts.dir = a->layout.blobs();
    bopts.fsync = false;  // speed: crash safety is tested elsewhere
    auto blobs = dcmfs::BlobStore::OpenLocal(bopts);
    CHECK(blobs.ok()) << blobs.status().ToString();
    a->blobs = std::move(blobs).value();
    a->quarantine = std::make_unique<dcmfs::Quarantine>(a->layout.quarantine());
    a->input_path = tmpl + "/input.dcm";
    return a;
  }();
  return *archive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Archive& a = TheArchive();
  {
    std::ofstream out(a.input_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  dcmfs::IngestOptions options;
  options.threads = 1;
  auto report = dcmfs::IngestPaths(*a.catalog, *a.blobs, *a.quarantine, {a.input_path}, options);
  CHECK(report.ok()) << "the archive itself failed: " << report.status().ToString();

  std::span<const uint8_t> bytes(data, size);
  dcmfs::Digest digest = dcmfs::Sha256(bytes);
  bool accepted = dcmfs::ParseDicom(bytes).ok();
  if (accepted) {
    CHECK(report->quarantined.empty());
    CHECK(a.catalog->GetInstance(digest).ok()) << "accepted but not indexed";
    auto stored = a.blobs->ReadAll(digest);
    CHECK(stored.ok()) << stored.status().ToString();
    CHECK(stored->size() == size &&
          std::equal(stored->begin(), stored->end(), reinterpret_cast<const char*>(data)))
        << "blob differs from input";
  } else {
    CHECK(report->quarantined.size() == 1) << "refused input not quarantined";
    CHECK(!a.catalog->GetInstance(digest).ok()) << "refused input indexed";
  }
  return 0;
}
