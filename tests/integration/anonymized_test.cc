// The anonymized view read with real tools: every file under /anonymized is
// valid DICOM for DCMTK's dcmdump and for pydicom, says PatientIdentityRemoved
// YES, keeps the original pixel data, and holds no original PHI (names and
// their components, IDs, birth date, accession, institution, physicians,
// study ID, instance UIDs) in its bytes or its path; UIDs map one to one.
// Images that may carry burned-in text are left out and named in EXCLUDED.txt.
//
// The checks run in one Python script over the whole tree (pydicom is the
// independent reader); the C++ side asserts on its findings.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

// harvest OUT ORIGINALS... | scan HARVEST ANON_ROOT (see the findings below).
constexpr const char* kCheckScript = R"PY(
# Harvests PHI from original DICOM files and scans an anonymized tree for it.
#   harvest OUT ORIGINALS...   writes OUT (JSON: strings, pixel keys -> UIDs)
#   scan HARVEST ANON_ROOT     prints one line per finding, then totals
import hashlib, json, os, subprocess, sys
import pydicom

PHI_TAGS = ["PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
            "InstitutionName", "ReferringPhysicianName", "StudyID", "OtherPatientIDs",
            "PatientAddress", "InstitutionAddress", "PerformingPhysicianName",
            "OperatorsName", "PhysiciansOfRecord", "RequestingPhysician"]
UID_TAGS = ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"]
# Placeholders that de-identifiers (ours included) write themselves; an
# original holding one of them proves nothing when it shows up again.
STOP = {"ANON", "ANONYMOUS", "ANONYMIZED", "ANONYMISED", "UNKNOWN", "NONE", "REMOVED",
        "DEIDENTIFIED", "YES", "NO", "TEST", "DUMMY", "PATIENT"}

def texts(value):
    out = []
    if value is None: return out
    if isinstance(value, pydicom.multival.MultiValue):
        for v in value: out += texts(v)
        return out
    s = str(value).strip().strip("\0").strip()
    if not s: return out
    out.append(s)
    if "^" in s or "=" in s:  # person name: each component too
        for part in s.replace("=", "^").split("^"):
            if part.strip(): out.append(part.strip())
    return out

# Attributes the profile keeps (K) that may repeat a harvested value: a
# manufacturer that is also written as InstitutionName, or DCMTK's own
# ImplementationVersionName "OFFIS_DCMTK_...", or a PatientID "123456" that
# another file uses as SeriesNumber. Such a value is public.
PUBLIC_TAGS = ["Manufacturer", "ManufacturerModelName", "SoftwareVersions", "SeriesNumber",
               "InstanceNumber", "AcquisitionNumber"]
PUBLIC = {"OFFIS_DCMTK", "DCMTK", "PYDICOM", "GDCM"}

def public_strings(ds):
    out = set()
    for tag in PUBLIC_TAGS:
        try: out.update(t.upper() for t in texts(ds.get(tag)))
        except Exception: pass
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        out.update(t.upper() for t in texts(meta.get("ImplementationVersionName")))
    return out

def worth_scanning(s):
    if s.upper() in STOP: return False
    if s.replace(".", "").isdigit() and "." in s:  # a UID
        return len(s) >= 8 and not s.startswith("1.2.840.10008.")
    if s.isdigit(): return len(s) >= 6
    return len(s) >= 4

def pixel_key(ds):
    px = ds.get("PixelData")
    if px is None: return None
    return hashlib.sha256(bytes(ds.PixelData)).hexdigest() + "|" + str(ds.get("InstanceNumber", ""))

def dicom_files(paths):
    for root in paths:
        if os.path.isfile(root):
            yield root
            continue
        for d, _, files in os.walk(root):
            for f in files: yield os.path.join(d, f)

def harvest(out_path, roots):
    strings, pixels, public = set(), {}, set(PUBLIC)
    n = 0
    for p in dicom_files(roots):
        try:
            ds = pydicom.dcmread(p)
        except Exception:
            continue  # not DICOM: quarantined by ingest, never in the view
        n += 1
        public.update(public_strings(ds))
        for tag in PHI_TAGS + UID_TAGS:
            try: value = ds.get(tag)
            except Exception: continue
            for s in texts(value):
                if worth_scanning(s): strings.add(s)
        try: key = pixel_key(ds)
        except Exception: key = None
        if key:
            uids = {t: str(ds.get(t, "")) for t in UID_TAGS}
            pixels.setdefault(key, []).append(uids)
    strings = {s for s in strings if not any(s.upper() in p for p in public)}
    with open(out_path, "w") as f:
        json.dump({"strings": sorted(strings), "pixels": pixels}, f)
    print(f"HARVESTED {n} files {len(strings)} strings")

def encodings(s):
    out = {s.encode("utf-8")}
    for enc in ("latin-1", "iso2022_jp", "gb18030"):
        try: out.add(s.encode(enc))
        except Exception: pass
    return out

def scan_bytes(data, needles):
    return [s for s, encs in needles if any(e in data for e in encs)]

def check_dicom(path, data, needles, pixels, pairs, counts):
    r = subprocess.run(["dcmdump", "-q", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        print(f"DCMDUMP_FAIL {path} {r.stderr[:200]!r}")
    try:
        ds = pydicom.dcmread(path)
        px = bytes(ds.PixelData) if "PixelData" in ds else b""
    except Exception as e:
        print(f"PYDICOM_FAIL {path} {e}"); return
    if str(ds.get("PatientIdentityRemoved", "")) != "YES":
        print(f"NOT_REMOVED {path}")
    # The pixel data is the original's, byte for byte; a coincidental match
    # inside it is not PHI that de-identification could have removed.
    at = data.find(px) if px else -1
    header = data if at < 0 else data[:at] + b"\0" + data[at + len(px):]
    for s in scan_bytes(header, needles): print(f"PHI_BYTES {path} {s!r}")
    key = pixel_key(ds) if px else None
    originals = pixels.get(key, []) if key else []
    if len(originals) == 1:
        counts["matched"] += 1
        for t, orig in originals[0].items():
            if orig: pairs.setdefault(t, set()).add((orig, str(ds.get(t, ""))))
    elif key:
        counts["unmatched"] += 1
        print(f"UNMATCHED {path} ({len(originals)} originals share its pixels)")

def text_part(name, data):
    # Where text can hide in a derived file: the NIfTI header (descrip, intent,
    # aux_file), the STL header, PNG chunks other than the compressed pixels.
    # Voxels and compressed pixels are left out: a short harvested string
    # turns up in megabytes of binary by chance.
    if name.endswith(".nii"): return data[:352]
    if name.endswith(".stl"): return data[:80]
    if name.endswith(".json"):
        # Values only: a key such as "Modality" is not patient data even if
        # some test file put that word into a name field.
        try:
            values = []
            def walk(v):
                if isinstance(v, dict):
                    for x in v.values(): walk(x)
                elif isinstance(v, list):
                    for x in v: walk(x)
                else: values.append(str(v))
            walk(json.loads(data))
            return "\n".join(values).encode("utf-8")
        except ValueError:
            return data
    if name.endswith(".png"):
        out, i = b"", 8
        while i + 8 <= len(data):
            n = int.from_bytes(data[i:i + 4], "big"); kind = data[i + 4:i + 8]
            if kind != b"IDAT": out += data[i:i + 12 + n]
            i += 12 + n
        return out
    return data

def scan(harvest_path, root):
    with open(harvest_path) as f: h = json.load(f)
    needles = [(s, encodings(s)) for s in h["strings"]]
    lowered = [s.lower() for s in h["strings"]]
    pairs, counts = {}, {"files": 0, "dcm": 0, "matched": 0, "unmatched": 0, "derived": 0}
    for d, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(d, root).lower()
        for s in lowered:
            if s in rel_dir: print(f"PHI_PATH {d} {s!r}")
        for name in files:
            p = os.path.join(d, name)
            counts["files"] += 1
            try:
                with open(p, "rb") as fh: data = fh.read()
            except OSError as e:
                print(f"READ_FAIL {p} {e}"); continue
            if os.stat(p).st_size != len(data):
                print(f"SIZE_MISMATCH {p} stat {os.stat(p).st_size} read {len(data)}")
            for s in lowered:
                if s in name.lower(): print(f"PHI_PATH {p} {s!r}")
            if name.endswith(".dcm"):
                counts["dcm"] += 1
                check_dicom(p, data, needles, h["pixels"], pairs, counts)
            else:
                counts["derived"] += name.endswith((".nii", ".png", ".stl", ".json"))
                for s in scan_bytes(text_part(name, data), needles): print(f"PHI_BYTES {p} {s!r}")
    for tag, ps in pairs.items():
        fwd, back = {}, {}
        for orig, new in ps:
            fwd.setdefault(orig, set()).add(new); back.setdefault(new, set()).add(orig)
        for orig, news in fwd.items():
            if len(news) != 1: print(f"UID_INCONSISTENT {tag} one original -> {len(news)} new")
        for new, origs in back.items():
            if len(origs) != 1: print(f"UID_INCONSISTENT {tag} {len(origs)} originals -> {new}")
            if not new.startswith("2.25."): print(f"UID_NOT_2_25 {tag} {new}")
    print(" ".join(f"{k.upper()} {v}" for k, v in counts.items()))

if __name__ == "__main__":
    if sys.argv[1] == "harvest": harvest(sys.argv[2], sys.argv[3:])
    else: scan(sys.argv[2], sys.argv[3])
)PY";

// What the scan found: totals and every finding line (a finding is a failure).
struct ScanResult {
  std::map<std::string, uint64_t> totals;  // FILES, DCM, MATCHED, UNMATCHED
  std::vector<std::string> findings;
  std::string output;
};

ScanResult ParseScan(const std::string& output) {
  ScanResult r;
  r.output = output;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("FILES ")) {
      std::istringstream fields(line);
      std::string key;
      uint64_t value = 0;
      while (fields >> key >> value) r.totals[key] = value;
    } else if (!line.empty()) {
      r.findings.push_back(line);
    }
  }
  return r;
}

std::string Joined(const std::vector<std::string>& lines, size_t max = 40) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < max; ++i) out += lines[i] + "\n";
  if (lines.size() > max) out += "... " + std::to_string(lines.size() - max) + " more\n";
  return out;
}

class Checker {
 public:
  explicit Checker(const TempDir& dir)
      : script_(dir.Sub("anon_check.py")), harvest_(dir.Sub("phi.json")) {
    std::ofstream(script_) << kCheckScript;
  }
  // Harvests PHI from `originals`; returns the script's output.
  CommandResult Harvest(const std::string& originals) const {
    return Shell("/usr/bin/python3 " + Q(script_) + " harvest " + Q(harvest_) + " " + Q(originals));
  }
  ScanResult Scan(const std::string& anon_root) const {
    CommandResult r =
        Shell("/usr/bin/python3 " + Q(script_) + " scan " + Q(harvest_) + " " + Q(anon_root));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return ParseScan(r.output);
  }

 private:
  std::string script_, harvest_;
};

// Series folders of the anonymized view: the folders holding a SHA256SUMS.
std::vector<std::string> AnonSeriesFolders(const std::string& anon_root) {
  std::vector<std::string> out;
  for (const std::string& p : FilesBelow(anon_root)) {
    if (std::filesystem::path(p).filename() == "SHA256SUMS") {
      out.push_back(std::filesystem::path(p).parent_path().string());
    }
  }
  return out;
}

// A copy of `source` turned into an ultrasound image with no BurnedInAnnotation
// statement: PS3.15 E.1.1 warns such images often carry burned-in identity.
constexpr const char* kBurnedSopUid = "1.2.826.0.1.3680043.10.1234.999.1";
void WriteBurnedInCopy(const std::string& source, const std::string& dest) {
  std::filesystem::create_directories(std::filesystem::path(dest).parent_path());
  std::filesystem::copy_file(source, dest);
  CommandResult r = Shell(std::string("dcmodify -nb -m '(0008,0060)=US' ") +
                          "-m '(0008,0016)=1.2.840.10008.5.1.4.1.1.6.1' " +
                          "-m '(0008,0018)=" + kBurnedSopUid + "' -m '(0020,0013)=9999' " +
                          "-e '(0028,0301)' " + Q(dest));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

class AnonymizedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    ASSERT_FALSE(files_.empty());
    WriteBurnedInCopy(files_[0].path, dir_.Sub("dicom/burned/us.dcm"));
    CommandResult r = Dcmfs("ingest " + Q(Archive()) + " " + Q(dir_.Sub("dicom")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string Archive() const { return dir_.Sub("archive"); }
  std::unique_ptr<MountedArchive> Mount(std::vector<std::string> args = {}) {
    auto m = std::make_unique<MountedArchive>(Archive(), dir_.Sub("mnt"), std::move(args));
    EXPECT_TRUE(m->ok()) << m->log();
    return m;
  }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(AnonymizedTest, EveryFileIsValidDicomWithoutPhiAndWithConsistentUids) {
  auto mount = Mount();
  ASSERT_TRUE(mount->ok());
  Checker checker(dir_);
  CommandResult h = checker.Harvest(dir_.Sub("dicom"));
  ASSERT_EQ(h.exit_code, 0) << h.output;
  // The names, IDs and UIDs of the synthetic set are among what is looked for.
  std::string phi = ReadFileOrEmpty(dir_.Sub("phi.json"));
  for (const char* s : {"Smith", "Anna", "SYN-0001", "ACC0001", "19650412"}) {
    EXPECT_NE(phi.find(s), std::string::npos) << s << " not harvested";
  }
  EXPECT_NE(phi.find(files_[0].series_uid), std::string::npos);

  ScanResult scan = checker.Scan(mount->path() + "/anonymized");
  EXPECT_TRUE(scan.findings.empty()) << Joined(scan.findings);
  EXPECT_EQ(scan.totals["DCM"], files_.size()) << "every original but the burned-in one";
  EXPECT_EQ(scan.totals["MATCHED"], files_.size()) << "each file's pixels are its original's";
  EXPECT_GT(scan.totals["FILES"], scan.totals["DCM"]) << "SHA256SUMS per series";
  EXPECT_GT(scan.totals["DERIVED"], 20u) << "volumes, sidecars and pictures are scanned too";
}

// The view's volumes and pictures are the identified ones, byte for byte,
// except for the series with an excluded (burned-in) image, which has none;
// sidecars keep acquisition fields only.
TEST_F(AnonymizedTest, DerivedFilesAreThePixelsOnly) {
  auto mount = Mount();
  ASSERT_TRUE(mount->ok());
  auto sums_of = [&](const std::string& root, const std::string& name) {
    return Shell("cd " + Q(root) + " && find . -name " + name +
                 " -exec sha256sum {} + | cut -c1-64 | LC_ALL=C sort").output;
  };
  const std::string anon = mount->path() + "/anonymized";
  std::string studies_nii = sums_of(mount->path() + "/studies", "series.nii");
  std::string anon_nii = sums_of(anon, "series.nii");
  size_t studies_count = std::count(studies_nii.begin(), studies_nii.end(), '\n');
  size_t anon_count = std::count(anon_nii.begin(), anon_nii.end(), '\n');
  EXPECT_GE(anon_count, 5u);
  EXPECT_EQ(anon_count + 1, studies_count) << "all but the series with a burned-in image";
  std::istringstream lines(anon_nii);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(studies_nii.find(line), std::string::npos) << "an anonymized volume differs";
  }
  EXPECT_EQ(Shell("cd " + Q(anon) + " && find . -path '*/mpr/axial/0001.png' | wc -l").output,
            std::to_string(anon_count) + "\n");
  CommandResult json = Shell(
      "cd " + Q(anon) + " && find . -name series.json -exec /usr/bin/python3 -c '"
      "import json, sys\n"
      "for p in sys.argv[1:]:\n"
      "    d = json.load(open(p))\n"
      "    assert d[\"Modality\"], p\n"
      "    for k in (\"SeriesDescription\", \"ProtocolName\", \"AcquisitionTime\", "
      "\"SeriesInstanceUID\", \"StudyInstanceUID\", \"InstitutionName\", \"PatientName\"):\n"
      "        assert k not in d, (p, k)\n"
      "print(len(sys.argv) - 1)' {} + 2>&1");
  EXPECT_EQ(json.exit_code, 0) << json.output;
}

TEST_F(AnonymizedTest, ChecksumsVerifyInEverySeriesFolder) {
  auto mount = Mount();
  ASSERT_TRUE(mount->ok());
  std::vector<std::string> folders = AnonSeriesFolders(mount->path() + "/anonymized");
  ASSERT_FALSE(folders.empty());
  for (const std::string& folder : folders) {
    CommandResult sums = Shell("cd " + Q(folder) + " && sha256sum -c --quiet SHA256SUMS");
    EXPECT_EQ(sums.exit_code, 0) << folder << "\n" << sums.output;
  }
}

// The folders and .dcm files listed in every EXCLUDED.txt of the view.
std::map<std::string, std::string> ExcludedLists(const std::string& anon_root) {
  std::map<std::string, std::string> out;
  for (const std::string& p : FilesBelow(anon_root)) {
    if (std::filesystem::path(p).filename() != "EXCLUDED.txt") continue;
    std::string text = ReadFileOrEmpty(p);
    if (!text.empty()) out[std::filesystem::path(p).parent_path().string()] = text;
  }
  return out;
}

TEST_F(AnonymizedTest, BurnedInImageIsLeftOutAndListedUnlessIncluded) {
  {
    auto mount = Mount();
    ASSERT_TRUE(mount->ok());
    std::string anon = mount->path() + "/anonymized";
    std::map<std::string, std::string> excluded = ExcludedLists(anon);
    ASSERT_EQ(excluded.size(), 1u) << "one series holds the burned-in copy";
    const auto& [folder, text] = *excluded.begin();
    EXPECT_NE(text.find("9999"), std::string::npos) << text;  // its anonymized name
    EXPECT_EQ(text.find("1.2.826"), std::string::npos) << "no original UID: " << text;
    EXPECT_EQ(text.find(kBurnedSopUid), std::string::npos) << text;
    std::string listing = Shell("ls " + Q(folder)).output;
    EXPECT_EQ(listing.find("9999"), std::string::npos) << listing;
    EXPECT_NE(listing.find(".dcm"), std::string::npos) << "the rest of the series is there";
    EXPECT_EQ(Shell("find " + Q(anon) + " -name '*9999*' | wc -l").output, "0\n");
  }
  auto mount = Mount({"--anon-include-burned-in"});
  ASSERT_TRUE(mount->ok());
  std::string anon = mount->path() + "/anonymized";
  EXPECT_EQ(Shell("find " + Q(anon) + " -name '*9999*.dcm' | wc -l").output, "1\n");
  EXPECT_EQ(Shell("find " + Q(anon) + " -name '*.dcm' | wc -l").output,
            std::to_string(files_.size() + 1) + "\n");
}

TEST_F(AnonymizedTest, NoAnonymizedHidesTheView) {
  auto mount = Mount({"--no-anonymized"});
  ASSERT_TRUE(mount->ok());
  EXPECT_FALSE(std::filesystem::exists(mount->path() + "/anonymized"));
  EXPECT_TRUE(std::filesystem::exists(mount->path() + "/patients"));
}

TEST_F(AnonymizedTest, BadOptionsAreRefusedClearly) {
  std::string args = Q(Archive()) + " " + Q(dir_.Sub("mnt2"));
  std::filesystem::create_directories(dir_.Sub("mnt2"));
  struct Case {
    std::string flags, message;
  };
  for (const Case& c : std::vector<Case>{
           {"--anon-option bogus", "unknown option 'bogus'"},
           {"--anon-option clean-descriptors,nope", "unknown option 'nope'"},
           {"--identified-mode 0789", "octal"},
           {"--identified-mode 1750", "octal"},
           {"--identified-mode 0050", "owner"},
           {"--identified-group no-such-group-dcmfs", "no such group"},
           {"--identified-owner no-such-user-dcmfs", "no such user"},
           {"--no-anonymized --anon-include-burned-in", "need the anonymized view"}}) {
    CommandResult r = Dcmfs("mount " + c.flags + " " + args);
    EXPECT_EQ(r.exit_code, 1) << c.flags << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.flags << "\n" << r.output;
    EXPECT_FALSE(IsMountPoint(dir_.Sub("mnt2")));
  }
  // Every option is in --help.
  std::string help = Dcmfs("mount --help").output;
  for (const char* flag : {"--no-anonymized", "--anon-option", "--anon-include-burned-in",
                           "--identified-owner", "--identified-group", "--identified-mode",
                           "retain-patient-chars", "no-modified-dates"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

// Every DICOM file of ../shared/corpus, ingested and read through
// /anonymized, passes the same scan (burned-in candidates are left out).
TEST(AnonymizedCorpusTest, EveryCorpusFileIsFreeOfItsPhi) {
  std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_SKIP() << "../shared/corpus not present";
  TempDir dir;
  CommandResult r = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(corpus));
  ASSERT_LE(r.exit_code, 2) << r.output;
  Checker checker(dir);
  CommandResult h = checker.Harvest(corpus);
  ASSERT_EQ(h.exit_code, 0) << h.output;
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  ScanResult scan = checker.Scan(mount.path() + "/anonymized");
  std::vector<std::string> failures;
  for (const std::string& f : scan.findings) {
    // Several corpus files share pixel data (one image in many encodings):
    // those cannot be paired with their original, which only this check needs.
    if (!f.starts_with("UNMATCHED ")) failures.push_back(f);
  }
  EXPECT_TRUE(failures.empty()) << Joined(failures);
  EXPECT_GT(scan.totals["DCM"], 300u) << scan.output.substr(0, 2000);
}

}  // namespace
}  // namespace dcmfs::testing
