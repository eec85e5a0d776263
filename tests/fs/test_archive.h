// A small archive built through the index API for fs tests: instances with
// hand-made metadata and arbitrary bytes (the fs layer never parses them).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "codecs/sha256.h"
#include "index/archive_layout.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::testing {

class TestArchive {
 public:
  TestArchive() : layout_{dir_.Sub("archive")} {
    CatalogOptions options;
    options.path = layout_.index();
    options.create_if_missing = true;
    catalog_ = std::move(Catalog::Open(options)).value();
    LocalBlobStoreOptions blob_options;
    blob_options.dir = layout_.blobs();
    blob_options.fsync = false;
    blobs_ = std::move(BlobStore::OpenLocal(blob_options)).value();
  }

  const std::string& root() const { return layout_.root; }
  TempDir& dir() { return dir_; }

  // A CT series of patient "Doe^John" (ID 12) with `n` instances 1..n.
  static InstanceMeta Meta(const std::string& series, int number) {
    InstanceMeta m;
    m.patient_name = "Doe^John";
    m.patient_id = "12";
    m.study_uid = "1.2.3";
    m.study_date = "20240102";
    m.study_description = "Chest";
    m.accession_number = "A7";
    m.series_uid = series;
    m.series_number = 3;
    m.modality = "CT";
    m.series_description = "Axial";
    m.sop_uid = series + "." + std::to_string(number);
    m.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    m.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    m.instance_number = number;
    m.rows = 64;
    m.columns = 64;
    m.number_of_frames = 1;
    return m;
  }

  // Stores `bytes` and indexes them with `meta`; returns the digest hex.
  std::string Add(const InstanceMeta& meta, const std::string& bytes) {
    Digest d = Sha256(bytes);
    auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size());
    EXPECT_TRUE(blobs_->Put(d, span).ok());
    EXPECT_TRUE(catalog_->AddInstance(d, bytes.size(), meta).ok());
    EXPECT_TRUE(catalog_->Flush().ok());
    by_sop_[meta.sop_uid] = bytes;
    return ToHex(d);
  }

  const std::map<std::string, std::string>& by_sop() const { return by_sop_; }

 private:
  TempDir dir_;
  ArchiveLayout layout_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<BlobStore> blobs_;
  std::map<std::string, std::string> by_sop_;
};

}  // namespace dcmfs::testing
