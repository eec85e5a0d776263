// The anonymized view: /anonymized, a PS3.15 Annex E de-identified twin of
// the /patients tree, built on demand from the catalog with nothing of its
// own on disk except cached de-identified files (ARCHIVE/cache).
//
//   /anonymized/<pseudonym>/<YYYY-MM-DD> <modalities>/<SeriesNumber> <Modality>/
//       NNNN.dcm       DeidentifyDicom(original) (codecs/deidentify.h)
//       SHA256SUMS     of the de-identified files listed here
//       EXCLUDED.txt   images left out for possible burned-in text, if any
//       series.nii, preview.png, mpr/, mesh/ ...  the derived files whose
//                      providers are pixels_only() (anon_derived.cc), the
//                      same bytes as in the identified view; series.json
//                      reduced to acquisition fields; manifest.json and
//                      iiif/ under pseudonymous ids (anon_iiif.h). None of
//                      them when an image of the series is excluded.
//
// What may appear in a name or attribute: the pseudonym, the date shifted by
// the patient's keyed offset (only with deid.retain_modified_dates),
// modalities, series and instance numbers, the series description only with
// deid.clean_descriptors. Original UIDs, names, IDs, dates and descriptions
// never do. Inode numbers and clash suffixes come from keyed hashes of the
// original identities (HMAC with the archive secret), so they are stable
// across mounts yet cannot be matched against a guessed UID.
//
// Every anonymized folder stands for one identified folder (its patient key,
// study UID or series UID); listing it lists that folder's catalog children
// and transforms their names. A listing is kept for `listing_lifetime_s`,
// so that a lookup of each name of a folder after a readdir is not one scan
// per name.
//
// Thread-safe. mu_ is a leaf lock (never held while calling the catalog, the
// blob store or DerivedFiles).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/lru.h"
#include "base/status.h"
#include "codecs/deidentify.h"
#include "fs/derived/derived_files.h"
#include "fs/internal/inode_table.h"
#include "fs/internal/xattrs.h"
#include "index/blob_store.h"
#include "index/catalog.h"

namespace dcmfs {

inline constexpr char kExcludedTxtName[] = "EXCLUDED.txt";

struct AnonTreeOptions {
  DeidOptions deid;
  // Keep images that may carry burned-in text (see IsPossiblyBurnedIn).
  bool include_burned_in = false;
  double listing_lifetime_s = 1.0;
  size_t listing_cache_entries = 256;  // folders whose listings are kept
  // Where the mount root is published: ids and URLs of the view's IIIF files
  // (fs/anonymized/anon_iiif.h), as `-o iiif_base` gives it.
  std::string iiif_base = "http://localhost";
};

// One child of an anonymized folder. `node` is what the inode table keeps
// (view kAnonymized, ref = the original identity, never shown).
struct AnonChild {
  std::string name;  // safe, unique among siblings, free of identifiers
  InodeId ino = 0;
  Node node;
  bool size_is_cheap = true;  // false: readdirplus leaves its attributes out
};

struct AnonListing {
  std::vector<AnonChild> children;  // sorted by name
  // Series folders: (file name it would have had, reason), sorted by name.
  std::vector<std::pair<std::string, std::string>> excluded;
  // nullptr if no child has that name.
  const AnonChild* Find(std::string_view name) const;
};

// Whether an image may show burned-in identifying text: BurnedInAnnotation
// (0028,0301) YES, or absent for modalities that usually do (US, SC, XC,
// ES, OT). Returns the reason, or "" when the image is kept.
std::string BurnedInReason(const InstanceMeta& meta);

class AnonymizedTree {
 public:
  // The references must outlive the tree. `secret`: LoadOrCreateArchiveSecret.
  AnonymizedTree(const AnonTreeOptions& options, std::string secret, const Catalog& catalog,
                 const BlobStore& blobs, DerivedFiles& derived);
  ~AnonymizedTree();
  AnonymizedTree(const AnonymizedTree&) = delete;
  AnonymizedTree& operator=(const AnonymizedTree&) = delete;

  // The children of /anonymized (`folder` == nullptr) or of an anonymized
  // folder node `folder` with inode `ino`. Errors from the catalog.
  Result<std::shared_ptr<const AnonListing>> List(InodeId ino, const Node* folder);

  // The content of an anonymized file node: a de-identified instance,
  // SHA256SUMS or EXCLUDED.txt. Computed once (DerivedFiles single flight),
  // de-identified instances and sums are kept in the persistent cache.
  Result<std::shared_ptr<DerivedContent>> Content(const Node& file);

  // "user.dicom.*" attributes of an anonymized node: only de-identified
  // values (pseudonym, mapped UIDs, shifted dates, modality, numbers).
  Result<XattrList> Xattrs(const Node& node);

  const DeidKeys& keys() const { return keys_; }

  // A child of the anonymized virtual folder `folder` that its listing does
  // not show: an IIIF request path (iiif/<id>/<region>/...), valid but not
  // canonical. nullopt when `name` is not one.
  std::optional<AnonChild> LookupUnlisted(const Node& folder, std::string_view name);

  // Internals shared with the providers (anon_providers.cc, anon_iiif.cc).
  struct Providers;
  friend class AnonIiif;
  const AnonTreeOptions& options() const { return options_; }
  // A keyed hash (hex) of `what`: stable for the archive, reveals nothing.
  std::string KeyedId(std::string_view what) const;
  // What de-identified contents depend on besides the original bytes:
  // options, the secret (as a keyed hash) and the engine's cache version.
  const std::string& fingerprint() const { return fingerprint_; }
  // Stable inodes of anonymized nodes, from keyed hashes of the originals.
  InodeId InodeOf(NodeKind kind, std::string_view ref) const;
  InodeId VirtualInodeOf(std::string_view series_uid, std::string_view name) const;
  // `dicom_date` (DA) shifted by the patient's offset, as "YYYY-MM-DD"
  // (`dashes`) or DA; "" when dates are not retained or it does not parse.
  std::string ShiftedDate(std::string_view dicom_date, const std::string& patient_key,
                          bool dashes) const;
  int64_t ShiftedMtime(int64_t mtime, const std::string& patient_key) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct CachedListing {
    Clock::time_point taken;
    std::shared_ptr<const AnonListing> listing;
  };

  Result<AnonListing> Build(const Node* folder);
  Result<AnonListing> ListPatients();
  Result<AnonListing> ListStudies(const Node& patient);
  Result<AnonListing> ListSeries(const Node& study);
  Result<AnonListing> ListInstances(const Node& series);
  Result<std::string> StudyModalities(const std::string& study_uid) const;
  std::optional<std::chrono::year_month_day> ShiftedDay(std::string_view dicom_date,
                                                        const std::string& patient_key) const;
  AnonChild FolderChild(NodeKind kind, const DirEntry& e, InodeId parent,
                        const std::string& patient_key, std::string name) const;
  std::string InstanceName(const InstanceMeta& meta) const;
  void AddSeriesFiles(AnonListing& out, const Node& series, InodeId self, int64_t mtime) const;
  // Derived files of the series' pixels (anon_derived.cc).
  void AddDerivedFiles(AnonListing& out, const Node& series, InodeId self, int64_t mtime) const;
  Result<AnonListing> ListDerivedFolder(const Node& folder) const;
  Result<std::shared_ptr<DerivedContent>> DerivedFileContent(const Node& file) const;
  Result<SeriesContext> AnonSeriesContext(const std::string& series_uid, InodeId folder) const;
  // The identified context of a series, for the IIIF files (anon_iiif.h).
  Result<SeriesContext> IiifSeriesContext(const std::string& series_uid) const;
  void AddStudyXattrs(XattrBuilder& b, const std::string& study_uid,
                      const std::string& patient_key) const;

  const AnonTreeOptions options_;
  const std::string secret_;
  const DeidKeys keys_;
  const std::string fingerprint_;
  const Catalog& catalog_;
  const BlobStore& blobs_;
  DerivedFiles& derived_;
  std::unique_ptr<Providers> providers_;

  std::mutex mu_;
  LruCache<InodeId, CachedListing> listings_;  // GUARDED_BY(mu_)
};

}  // namespace dcmfs
