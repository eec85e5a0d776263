// Recon against dcm2niix: every dcm_qa dataset of ../shared/corpus that has
// reference NIfTI files is parsed (ParseImageHeader), planned (PlanVolumes),
// written through VolumeReader and compared with Ref/ (or Ref_regenerated/)
// by tests/recon/compare_nifti.py (nibabel: as_closest_canonical, affine
// within 1e-3 mm, identical voxel values; resampled _Tilt/_Eq volumes
// against dcm2niix's qform and within 1 of its voxels, made by dcm2niix
// here where Ref lacks them). Prints a table: dataset, volumes, pass/fail,
// reason. Fails when the corpus is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "codecs/image_header.h"
#include "codecs/pixel_decode.h"
#include "recon/volume_plan.h"
#include "recon/volume_reader.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Decodes a frame the way the mount does: native data read in place,
// everything else through PixelDecoder.
Result<DecodedFrame> DecodeFrame(const std::string& path, uint32_t frame) {
  const std::string bytes = ReadFile(path);
  std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  ASSIGN_OR_RETURN(ImageHeaderOrMore parsed, ParseImageHeader(span, span.size()));
  if (!parsed.header) return Status::DataLoss("no header");
  const ImageHeader& h = *parsed.header;
  if (h.native && h.samples_per_pixel == 1) {
    const uint64_t fb = NativeFrameBytes(h);
    const uint64_t off = h.pixel_data_offset + frame * fb;
    if (off + fb > span.size()) return Status::DataLoss("pixel data truncated");
    return DecodeNativeFrame(h, span.subspan(off, fb));
  }
  ASSIGN_OR_RETURN(auto decoder, PixelDecoder::Open(span));
  return decoder->Decode(frame);
}

// Reference file name -> (series number, echo suffix) by dcm2niix's naming
// ("..._<series>[_e<n>[_extra]][_Tilt][_Eq_1]" or "<series>"); a resampled
// volume's "_Tilt_1"/"_Eq_1"/"_Tilt_Eq_1" ends the echo suffix, as ours does.
bool RefKey(std::string stem, int64_t* series, std::string* echo) {
  static const std::regex resampled(R"(^(.*?)((?:_Tilt)?(?:_Eq)?_1)$)");
  static const std::regex re(R"((?:^|_)(\d+)(_e\d+)?(?:_[A-Za-z]+)?$)");
  std::smatch m;
  std::string tail;
  if ((stem.find("_Tilt") != std::string::npos || stem.find("_Eq") != std::string::npos) &&
      std::regex_match(stem, m, resampled)) {
    tail = m[2];
    stem = m[1];
  }
  if (!std::regex_search(stem, m, re)) return false;
  *series = std::stoll(m[1]);
  *echo = std::string(m[2]) + tail;
  return true;
}

// dcm2niix's resampled volumes (_Tilt/_Eq) of `dataset` where its Ref
// lacks them (left out for size, see MANIFEST.md): made here by dcm2niix
// itself, whose tilt and _Eq code is the same from v1.0.20220720 (Debian's)
// to v1.0.20241211. Returns the folder, or an error.
Result<std::string> ResampledRefs(const fs::path& dataset, const std::string& out_dir) {
  const std::string dir = out_dir + "/" + dataset.filename().string() + "_dcm2niix";
  fs::create_directories(dir);
  auto r = testing::Shell("dcm2niix -b n -z n -i y -f %p_%s -o " + testing::ShellQuote(dir) + " " +
                          testing::ShellQuote((dataset / "In").string()) + " 2>&1");
  if (r.exit_code != 0) return Status::Internal("dcm2niix failed: " + r.output);
  for (auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find("_Tilt") == std::string::npos && name.find("_Eq") == std::string::npos) {
      fs::remove(e.path());
    }
  }
  return dir;
}

struct Row {
  std::string dataset;
  size_t ours = 0, refs = 0;
  bool pass = true;
  std::string reason;
};

Row CheckDataset(const fs::path& dataset, const std::string& out_dir) {
  Row row;
  row.dataset = dataset.filename().string();
  std::map<std::string, std::vector<PlanInput>> series;  // by SeriesInstanceUID
  std::map<std::string, std::string> path_of;
  for (auto& e : fs::recursive_directory_iterator(dataset / "In")) {
    if (!e.is_regular_file() || e.path().extension() == ".txt") continue;
    const std::string bytes = ReadFile(e.path());
    std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    auto h = ParseImageHeader(span, span.size());
    if (!h.ok() || !h->header) continue;
    path_of[e.path().string()] = e.path().string();
    series[h->header->series_uid].push_back({e.path().string(), *h->header});
  }
  std::multimap<int64_t, std::pair<std::string, std::string>> ours;  // series -> (suffix, .nii)
  std::set<std::string> tilted;     // our .nii files of gantry-tilted series, as acquired
  std::set<std::string> resampled;  // our _Tilt/_Eq files
  for (auto& [uid, inputs] : series) {
    const int64_t number = inputs[0].header.series_number.value_or(0);
    auto plan = PlanVolumes(inputs);
    if (!plan.ok()) {
      row.pass = false;
      row.reason += "plan: " + plan.status().ToString() + "; ";
      continue;
    }
    auto shared = std::make_shared<const SeriesPlan>(std::move(*plan));
    for (size_t v = 0; v < shared->volumes.size(); ++v) {
      VolumeReader reader(shared, v, DecodeFrame, {});
      std::string bytes(reader.size(), '\0');
      auto n = reader.ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
      const std::string name = std::to_string(number) + shared->volumes[v].suffix;
      if (!n.ok()) {
        row.pass = false;
        row.reason += name + ": " + n.status().ToString() + "; ";
        continue;
      }
      const std::string path = out_dir + "/" + row.dataset + "_" + std::to_string(row.ours) + "_" +
                               name + ".nii";
      std::ofstream(path, std::ios::binary) << bytes;
      // "_s<N>...": one SeriesInstanceUID holding several series numbers.
      std::string suffix = shared->volumes[v].suffix;
      int64_t key = number;
      std::smatch m;
      static const std::regex series_re(R"(^_s(\d+)(.*)$)");
      if (std::regex_match(suffix, m, series_re)) {
        key = std::stoll(m[1]);
        suffix = m[2];
      }
      ours.emplace(key, std::make_pair(suffix, path));
      if (shared->volumes[v].resampling) resampled.insert(path);
      if (!shared->volumes[v].resampling &&
          shared->volumes[v].sidecar_json.find("gantry tilt") != std::string::npos) {
        // Tilted CT: our geometry is checked against pydicom (see compare_nifti.py).
        tilted.insert(path);
        std::string dicoms;
        for (const std::string& k : shared->keys) dicoms += " " + testing::ShellQuote(k);
        auto check = testing::Shell("/usr/bin/python3 " +
                                    testing::ShellQuote(testing::SourceDir() +
                                                        "/tests/integration/nifti_check.py") +
                                    (shared->volumes[v].sidecar_json.find("uneven") != std::string::npos
                                         ? " --uneven "
                                         : " ") +
                                    testing::ShellQuote(path) + dicoms + " 2>&1");
        if (check.exit_code != 0) {
          row.pass = false;
          row.reason += name + " geometry vs pydicom: " + check.output + "; ";
        }
      }
      ++row.ours;
    }
  }
  std::string pairs, tilted_pairs, resampled_pairs;
  std::vector<fs::path> ref_dirs = {dataset / "Ref", dataset / "Ref_regenerated"};
  bool refs_resampled = false;
  for (const fs::path& d : ref_dirs) {
    if (!fs::exists(d)) continue;
    for (auto& e : fs::directory_iterator(d)) {
      const std::string name = e.path().filename().string();
      refs_resampled = refs_resampled || name.find("_Tilt") != std::string::npos ||
                       name.find("_Eq") != std::string::npos;
    }
  }
  if (!resampled.empty() && !refs_resampled) {
    auto made = ResampledRefs(dataset, out_dir);
    if (!made.ok()) {
      row.pass = false;
      row.reason += "resampled references: " + made.status().ToString() + "; ";
    } else {
      ref_dirs.push_back(*made);
    }
  }
  for (const fs::path& ref_dir : ref_dirs) {
    if (!fs::exists(ref_dir)) continue;
    for (auto& e : fs::directory_iterator(ref_dir)) {
      std::string stem = e.path().filename().string();
      if (stem.size() > 7 && stem.substr(stem.size() - 7) == ".nii.gz") stem.resize(stem.size() - 7);
      else if (e.path().extension() == ".nii") stem = e.path().stem().string();
      else continue;
      ++row.refs;
      int64_t number = 0;
      std::string echo;
      if (!RefKey(stem, &number, &echo)) {
        row.pass = false;
        row.reason += stem + ": name not understood; ";
        continue;
      }
      // Series numbers may repeat across series (GE and Siemens runs of one
      // dataset): every volume of that number and echo is a candidate.
      bool any = false;
      for (auto [it, end] = ours.equal_range(number); it != end; ++it) {
        if (it->second.first != echo) continue;
        (resampled.count(it->second.second) ? resampled_pairs
         : tilted.count(it->second.second)  ? tilted_pairs
                                            : pairs) +=
            " " + testing::ShellQuote(it->second.second) + " " + testing::ShellQuote(e.path().string());
        any = true;
      }
      if (!any) {
        row.pass = false;
        row.reason += stem + ": no volume of ours; ";
      }
    }
  }
  if (!pairs.empty() || !tilted_pairs.empty() || !resampled_pairs.empty()) {
    const std::string script =
        "/usr/bin/python3 " + testing::ShellQuote(testing::SourceDir() + "/tests/recon/compare_nifti.py");
    testing::CommandResult r;
    if (!pairs.empty()) r = testing::Shell(script + pairs + " 2>&1");
    if (!tilted_pairs.empty()) {
      r.output += testing::Shell(script + " --voxels-only" + tilted_pairs + " 2>&1").output;
    }
    if (!resampled_pairs.empty()) {
      const std::string out = testing::Shell(script + " --resampled" + resampled_pairs + " 2>&1").output;
      std::printf("resampled volumes vs dcm2niix:\n%s", out.c_str());  // how close, for the log
      r.output += out;
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
      else failures[ref_path] += fs::path(ours_path).filename().string() + ": " + detail + "; ";
    }
    for (const auto& [ref, why] : failures) {
      if (passed.count(ref)) continue;
      row.pass = false;
      row.reason += why;
    }
  }
  if (row.ours != row.refs && row.reason.empty()) {
    row.pass = false;
    row.reason = "volume count differs";
  }
  return row;
}

TEST(ReconCorpus, MatchesDcm2niixReferences) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus is absent";
  testing::TempDir out;
  std::vector<Row> rows;
  for (auto& e : fs::directory_iterator(corpus + "/dcm_qa")) {
    if (!fs::exists(e.path() / "In")) continue;
    if (!fs::exists(e.path() / "Ref") && !fs::exists(e.path() / "Ref_regenerated")) continue;
    rows.push_back(CheckDataset(e.path(), out.path()));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.dataset < b.dataset; });
  std::printf("\n%-18s %-12s %-5s %s\n", "dataset", "ours/refs", "", "reason");
  for (const Row& r : rows) {
    std::printf("%-18s %5zu/%-6zu %-5s %s\n", r.dataset.c_str(), r.ours, r.refs,
                r.pass ? "PASS" : "FAIL", r.reason.c_str());
  }
  // Every dataset is expected to pass; the table says which do not and why.
  for (const Row& r : rows) EXPECT_TRUE(r.pass) << r.dataset << ": " << r.reason;
}

// dcm2niix's resampled volume `ref_name` of the files of `in_dir` that
// `keep` accepts, against ours (the second volume, suffix `suffix`).
void ExpectResampledSubsetMatches(const fs::path& in_dir, const std::function<bool(int)>& keep,
                                  const std::string& ref_name, const std::string& suffix) {
  testing::TempDir tmp;
  fs::create_directories(tmp.Sub("in"));
  fs::create_directories(tmp.Sub("ref"));
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(in_dir)) {
    if (e.path().extension() == ".dcm") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<PlanInput> inputs;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!keep(static_cast<int>(i) + 1)) continue;
    fs::create_symlink(files[i], tmp.Sub("in/" + files[i].filename().string()));
    const std::string bytes = ReadFile(files[i].string());
    std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    auto h = ParseImageHeader(span, span.size());
    ASSERT_TRUE(h.ok() && h->header) << files[i];
    inputs.push_back({files[i].string(), *h->header});
  }
  auto run = testing::Shell("dcm2niix -b n -z n -f %s -o " + testing::ShellQuote(tmp.Sub("ref")) +
                            " " + testing::ShellQuote(tmp.Sub("in")) + " 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(fs::exists(tmp.Sub("ref/" + ref_name))) << run.output;
  auto plan = PlanVolumes(inputs);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->volumes.size(), 2u);
  ASSERT_EQ(plan->volumes[1].suffix, suffix);
  auto shared = std::make_shared<const SeriesPlan>(std::move(*plan));
  VolumeReader reader(shared, 1, DecodeFrame, {});
  std::string bytes(reader.size(), '\0');
  auto n = reader.ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  std::ofstream(tmp.Sub("ours.nii"), std::ios::binary) << bytes;
  auto cmp = testing::Shell("/usr/bin/python3 " +
                            testing::ShellQuote(testing::SourceDir() + "/tests/recon/compare_nifti.py") +
                            " --resampled " + testing::ShellQuote(tmp.Sub("ours.nii")) + " " +
                            testing::ShellQuote(tmp.Sub("ref/" + ref_name)) + " 2>&1");
  EXPECT_EQ(cmp.exit_code, 0) << cmp.output;
  std::printf("%s", cmp.output.c_str());
}

// The tilted GE CT's evenly spaced part (01..14.dcm, 4.22 mm apart along
// the bed): tilt correction alone.
TEST(ReconCorpus, TiltOnlyMatchesDcm2niix) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus is absent";
  ExpectResampledSubsetMatches(fs::path(corpus) / "dcm_qa/dcm_qa_ct_GE/In/GE",
                               [](int i) { return i <= 14; }, "2_Tilt_1.nii", "_Tilt_1");
}

// The 3D T1 MR with its 50th slice left out: a gap twice the others, so
// dcm2niix writes an equally spaced copy (no tilt for MR).
TEST(ReconCorpus, EqualSpacingMatchesDcm2niix) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus is absent";
  ExpectResampledSubsetMatches(fs::path(corpus) / "dcm_qa/dcm_qa_deident/In",
                               [](int i) { return i != 50; }, "10_Eq_1.nii", "_Eq_1");
}

}  // namespace
}  // namespace dcmfs
