// The mount's series.nii against dcm2niix: every dcm_qa dataset of
// ../shared/corpus with reference NIfTI files is ingested with `dcmfs
// ingest`, mounted, and each reference is compared with our volume of the
// same series and echo by tests/recon/compare_nifti.py (nibabel:
// as_closest_canonical, shape, affine within 1e-3 mm, identical voxels;
// dcm2niix's resampled _Tilt/_Eq volumes are made here by dcm2niix where
// Ref lacks them, and compared with --resampled).
// Prints a table: dataset, volumes (ours/refs), pass/fail, reason. Skipped
// when the corpus is absent.
#include <map>
#include <regex>
#include <set>

#include "codecs/dicom_parse.h"
#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

namespace fs = std::filesystem;

bool IsResampled(const std::string& name) {
  return name.find("_Tilt") != std::string::npos || name.find("_Eq") != std::string::npos;
}

// dcm2niix names: "..._<series>[_e<n>[_extra]][_Tilt][_Eq]_1" or "<series>";
// a resampled volume's "_Tilt_1"/"_Eq_1"/"_Tilt_Eq_1" ends the echo suffix,
// as in our series<suffix>.nii.
bool RefKey(std::string stem, int64_t* series, std::string* echo) {
  static const std::regex resampled(R"(^(.*?)((?:_Tilt)?(?:_Eq)?_1)$)");
  static const std::regex re(R"((?:^|_)(\d+)(_e\d+)?(?:_[A-Za-z]+)?$)");
  std::smatch m;
  std::string tail;
  if (IsResampled(stem) && std::regex_match(stem, m, resampled)) {
    tail = m[2];
    stem = m[1];
  }
  if (!std::regex_search(stem, m, re)) return false;
  *series = std::stoll(m[1]);
  *echo = std::string(m[2]) + tail;
  return true;
}

// dcm2niix's resampled volumes of `dataset` where its Ref lacks them (left
// out for size, MANIFEST.md), made here by dcm2niix itself (its tilt and
// _Eq code is the same from Debian's v1.0.20220720 to v1.0.20241211).
Result<std::string> ResampledRefs(const fs::path& dataset, const std::string& out_dir) {
  const std::string dir = out_dir + "/" + dataset.filename().string() + "_dcm2niix";
  fs::create_directories(dir);
  CommandResult r = Shell("dcm2niix -b n -z n -i y -f %p_%s -o " + Q(dir) + " " +
                          Q((dataset / "In").string()) + " 2>&1");
  if (r.exit_code != 0) return Status::Internal("dcm2niix failed: " + r.output);
  for (auto& e : fs::directory_iterator(dir)) {
    if (!IsResampled(e.path().filename().string())) fs::remove(e.path());
  }
  return dir;
}

struct Row {
  std::string dataset;
  size_t ours = 0, refs = 0;
  bool pass = true;
  std::string reason;
};

Row CheckDataset(const fs::path& dataset, const std::string& mnt, const std::string& tmp) {
  Row row;
  row.dataset = dataset.filename().string();
  // Series number -> its folders in /studies (from the inputs' own headers;
  // numbers may repeat across series, and one series UID may hold several
  // numbers, whose volumes are then named series_s<N>...).
  std::multimap<int64_t, std::string> folder;
  std::set<std::string> folders;
  for (const std::string& p : FilesBelow((dataset / "In").string())) {
    auto meta = ParseDicomFile(p);
    if (!meta.ok() || !meta->series_number) continue;
    const std::string path = mnt + "/studies/" + meta->study_uid + "/" + meta->series_uid;
    bool known = false;
    for (auto [it, end] = folder.equal_range(*meta->series_number); it != end; ++it) {
      known = known || it->second == path;
    }
    if (!known) folder.emplace(*meta->series_number, path);
    folders.insert(path);
  }
  size_t ours_resampled = 0;
  for (const std::string& path : folders) {
    row.ours += std::stoul(Shell("ls " + Q(path) + " | grep -c '^series.*\\.nii$'").output);
    ours_resampled += std::stoul(Shell("ls " + Q(path) + " | grep -cE '(_Tilt|_Eq)_1\\.nii$'").output);
  }
  std::string pairs, tilted_pairs, json_pairs, resampled_pairs;
  std::vector<fs::path> ref_dirs = {dataset / "Ref", dataset / "Ref_regenerated"};
  bool refs_resampled = false;
  for (const fs::path& d : ref_dirs) {
    if (!fs::exists(d)) continue;
    for (auto& e : fs::directory_iterator(d)) refs_resampled |= IsResampled(e.path().filename().string());
  }
  if (ours_resampled > 0 && !refs_resampled) {
    auto made = ResampledRefs(dataset, tmp);
    if (made.ok()) ref_dirs.push_back(*made);
    else row.pass = false, row.reason += "resampled references: " + made.status().ToString() + "; ";
  }
  for (const fs::path& ref_dir : ref_dirs) {
    if (!fs::exists(ref_dir)) continue;
    for (auto& e : fs::directory_iterator(ref_dir)) {
      std::string stem = e.path().filename().string();
      if (stem.ends_with(".nii.gz")) stem.resize(stem.size() - 7);
      else if (stem.ends_with(".nii")) stem.resize(stem.size() - 4);
      else continue;
      ++row.refs;
      int64_t number = 0;
      std::string echo;
      bool any = false;
      if (RefKey(stem, &number, &echo)) {
        for (auto [it, end] = folder.equal_range(number); it != end; ++it) {
          for (const std::string& name : {"series" + echo + ".nii",
                                          "series_s" + std::to_string(number) + echo + ".nii"}) {
            if (!fs::exists(it->second + "/" + name)) continue;
            // Gantry-tilted CT: dcm2niix's untilted affine is not the DICOM
            // geometry; voxels are compared with it, geometry with pydicom.
            const std::string json = ReadFileOrEmpty(
                it->second + "/" + name.substr(0, name.size() - 4) + ".json");
            const bool resampled = IsResampled(name);
            const bool tilt = !resampled && json.find("gantry tilt") != std::string::npos;
            (resampled ? resampled_pairs : tilt ? tilted_pairs : pairs) +=
                " " + Q(it->second + "/" + name) + " " + Q(e.path().string());
            const std::string ref_json = (dataset / "Ref" / (stem + ".json")).string();
            if (fs::exists(ref_json)) {
              json_pairs += " " + Q(it->second + "/" + name.substr(0, name.size() - 4) + ".json") +
                            " " + Q(ref_json);
            }
            if (tilt) {
              CommandResult check = Shell(
                  "/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/nifti_check.py") +
                  (json.find("uneven") != std::string::npos ? " --uneven " : " ") +
                  Q(it->second + "/" + name) + " " + Q(it->second) + "/*.dcm 2>&1");
              if (check.exit_code != 0) {
                row.pass = false;
                row.reason += name + " geometry vs pydicom: " + check.output + "; ";
              }
            }
            any = true;
          }
        }
      }
      if (!any) {
        row.pass = false;
        row.reason += stem + ": no volume of ours; ";
      }
    }
  }
  if (!pairs.empty() || !tilted_pairs.empty() || !resampled_pairs.empty()) {
    const std::string script = "/usr/bin/python3 " + Q(SourceDir() + "/tests/recon/compare_nifti.py");
    CommandResult r;
    if (!pairs.empty()) r = Shell(script + pairs + " 2>&1");
    if (!tilted_pairs.empty()) r.output += Shell(script + " --voxels-only" + tilted_pairs + " 2>&1").output;
    // dcm2niix's _Tilt/_Eq: against its qform, voxels within 1 (compare_nifti.py).
    if (!resampled_pairs.empty()) r.output += Shell(script + " --resampled" + resampled_pairs + " 2>&1").output;
    // The sidecars' shared fields (a reference passes when one candidate's
    // volume and sidecar both do: lines are keyed by the .nii reference).
    if (!json_pairs.empty()) {
      std::string out = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/recon/compare_sidecar.py") +
                              json_pairs + " 2>&1").output;
      std::istringstream json_lines(out);
      std::string line;
      std::map<std::string, std::string> json_failures;  // ref -> reasons
      std::set<std::string> json_passed;
      while (std::getline(json_lines, line)) {
        std::istringstream words(line);
        std::string verdict, ours_path, ref_path;
        words >> verdict >> ours_path >> ref_path;
        if (verdict == "PASS") json_passed.insert(ref_path);
        else json_failures[ref_path] += fs::path(ref_path).filename().string() + " sidecar: " +
                                        line.substr(std::min(line.size(), size_t(words.tellg()) + 1)) + "; ";
      }
      for (const auto& [ref, why] : json_failures) {
        if (json_passed.count(ref)) continue;
        row.pass = false;
        row.reason += why;
      }
    }
    // A reference passes when one of its candidates does.
    std::map<std::string, std::string> failures;  // ref -> reasons
    std::set<std::string> passed;
    std::istringstream lines(r.output);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string verdict, ours_path, ref_path;
      words >> verdict >> ours_path >> ref_path;
      const std::string detail = line.substr(std::min(line.size(), size_t(words.tellg()) + 1));
      if (verdict == "PASS") passed.insert(ref_path);
      else failures[ref_path] += fs::path(ref_path).filename().string() + ": " + detail + "; ";
    }
    for (const auto& [ref, why] : failures) {
      if (passed.count(ref)) continue;
      row.pass = false;
      row.reason += why;
    }
  }
  if (row.pass && row.ours != row.refs) {
    row.pass = false;
    row.reason = "volume count differs";
  }
  return row;
}

TEST(NiftiCorpusTest, MountedVolumesMatchDcm2niix) {
  const std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  std::vector<fs::path> datasets;
  for (auto& e : fs::directory_iterator(corpus + "/dcm_qa")) {
    if (fs::exists(e.path() / "In") &&
        (fs::exists(e.path() / "Ref") || fs::exists(e.path() / "Ref_regenerated"))) {
      datasets.push_back(e.path());
    }
  }
  std::sort(datasets.begin(), datasets.end());
  TempDir dir;
  std::string inputs;
  for (const fs::path& d : datasets) inputs += " " + Q((d / "In").string());
  CommandResult r = Dcmfs("ingest " + Q(dir.Sub("archive")) + inputs);
  ASSERT_LE(r.exit_code, 2) << r.output;  // 2: README-*.txt are not DICOM
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  std::vector<Row> rows;
  for (const fs::path& d : datasets) rows.push_back(CheckDataset(d, mount.path(), dir.path()));
  std::printf("\n%-18s %-10s %-5s %s\n", "dataset", "ours/refs", "", "reason");
  for (const Row& row : rows) {
    std::printf("%-18s %4zu/%-5zu %-5s %s\n", row.dataset.c_str(), row.ours, row.refs,
                row.pass ? "PASS" : "FAIL", row.reason.c_str());
  }
  for (const Row& row : rows) EXPECT_TRUE(row.pass) << row.dataset << ": " << row.reason;
}

}  // namespace
}  // namespace dcmfs::testing
