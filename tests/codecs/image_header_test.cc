// ParseImageHeader against pydicom: geometry, frame counts and the native
// pixel bytes found at pixel_data_offset (decoded by DecodeNativeFrame and
// compared with pydicom's pixel_array) for synthetic files and the dcm_qa
// corpus; prefix growth until Pixel Data.
#include "codecs/image_header.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/synthetic.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Grows the prefix as the parser asks, as the fs layer does.
Result<ImageHeader> ParseGrowing(const std::vector<uint8_t>& file, size_t first, int* rounds) {
  size_t n = std::min(first, file.size());
  for (*rounds = 1;; ++*rounds) {
    ASSIGN_OR_RETURN(ImageHeaderOrMore r,
                     ParseImageHeader(std::span<const uint8_t>(file.data(), n), file.size()));
    if (r.header) return *r.header;
    if (r.need_bytes <= n) return Status::Internal("no progress");
    n = r.need_bytes;
  }
}

// pydicom's view of a file: "rows cols frames ipp0 ipp1 ipp2 sum_of_pixels".
std::string PydicomSummary(const std::string& path) {
  std::string script =
      "import pydicom,sys,numpy as np\n"
      "d=pydicom.dcmread(sys.argv[1])\n"
      "p=d.get('ImagePositionPatient',[0,0,0])\n"
      "pf=d.get('PerFrameFunctionalGroupsSequence')\n"
      "p=pf[0].PlanePositionSequence[0].ImagePositionPatient if pf and 'PlanePositionSequence' in pf[0] else p\n"
      "p=[float(x) for x in p]\n"
      "a=d.pixel_array.astype(np.int64)\n"
      "print(d.Rows,d.Columns,int(d.get('NumberOfFrames',1)),'%.3f %.3f %.3f'%tuple(p),int(a.sum()))\n";
  auto r = testing::Shell("/usr/bin/python3 -c " + testing::ShellQuote(script) + " " +
                          testing::ShellQuote(path) + " 2>/dev/null");
  return r.output;
}

std::string OurSummary(const std::vector<uint8_t>& file, const ImageHeader& h) {
  int64_t sum = 0;
  const uint64_t fb = NativeFrameBytes(h);
  for (uint32_t f = 0; f < h.number_of_frames; ++f) {
    auto raw = std::span<const uint8_t>(file).subspan(h.pixel_data_offset + f * fb, fb);
    auto d = DecodeNativeFrame(h, raw);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (!d.ok()) return "";
    const size_t n = size_t{h.rows} * h.columns;
    for (size_t i = 0; i < n; ++i) {
      switch (d->format.type) {
        case SampleType::kInt16: sum += reinterpret_cast<const int16_t*>(d->data.data())[i]; break;
        case SampleType::kUint16: sum += reinterpret_cast<const uint16_t*>(d->data.data())[i]; break;
        case SampleType::kUint8: sum += d->data[i]; break;
        default: ADD_FAILURE() << "unexpected type"; return "";
      }
    }
  }
  std::array<double, 3> p = h.frames[0].position.value_or(std::array<double, 3>{0, 0, 0});
  char buf[200];
  std::snprintf(buf, sizeof(buf), "%u %u %u %.3f %.3f %.3f %lld\n", h.rows, h.columns,
                h.number_of_frames, p[0], p[1], p[2], static_cast<long long>(sum));
  return buf;
}

TEST(ImageHeader, SyntheticFilesAgreeWithPydicom) {
  testing::TempDir dir;
  SyntheticOptions o;
  o.out_dir = dir.path();
  o.ct_slices = 3;
  o.mr_slices = 2;
  auto files = WriteSyntheticSet(o);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  int native = 0;
  for (const SyntheticFile& f : *files) {
    std::vector<uint8_t> bytes = ReadAll(f.path);
    int rounds = 0;
    auto h = ParseGrowing(bytes, 256, &rounds);
    ASSERT_TRUE(h.ok()) << f.path << ": " << h.status().ToString();
    EXPECT_GT(rounds, 1) << "a 256-byte prefix cannot reach Pixel Data";
    ASSERT_EQ(h->frames.size(), h->number_of_frames);
    if (!h->native) continue;
    ++native;
    EXPECT_EQ(OurSummary(bytes, *h), PydicomSummary(f.path)) << f.path;
  }
  EXPECT_GT(native, 10);
}

TEST(ImageHeader, PrefixWithoutPixelDataAsksForMore) {
  testing::TempDir dir;
  SyntheticOptions o;
  o.out_dir = dir.path();
  o.ct_slices = 1;
  o.mr_slices = 1;
  auto files = WriteSyntheticSet(o);
  ASSERT_TRUE(files.ok());
  std::vector<uint8_t> bytes = ReadAll(files->front().path);
  auto r = ParseImageHeader(std::span<const uint8_t>(bytes.data(), 600), bytes.size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->header.has_value());
  EXPECT_GT(r->need_bytes, 600u);
  // Not DICOM at all: a clear error, not a request for more.
  std::vector<uint8_t> junk(4096, 'x');
  EXPECT_FALSE(ParseImageHeader(junk, junk.size()).ok());
}

std::string CorpusRoot() {
  const std::string corpus = testing::CorpusDir();
  return corpus.empty() ? "" : corpus + "/dcm_qa";
}

TEST(ImageHeader, CorpusNativeFilesAgreeWithPydicom) {
  const std::string root = CorpusRoot();
  if (root.empty()) GTEST_FAIL() << "no corpus";
  int checked = 0;
  for (const char* ds : {"dcm_qa_pdt2/In", "dcm_qa_nih/In/20180918Si", "dcm_qa_enh/In",
                         "dcm_qa_ct_GE/In"}) {
    std::vector<std::string> paths;
    for (auto& e : std::filesystem::recursive_directory_iterator(root + "/" + ds)) {
      if (e.is_regular_file() && e.path().extension() == ".dcm") paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    if (paths.size() > 4) paths.resize(4);
    for (const std::string& p : paths) {
      std::vector<uint8_t> bytes = ReadAll(p);
      int rounds = 0;
      auto h = ParseGrowing(bytes, 4096, &rounds);
      ASSERT_TRUE(h.ok()) << p << ": " << h.status().ToString();
      if (!h->native) continue;
      EXPECT_EQ(OurSummary(bytes, *h), PydicomSummary(p)) << p;
      ++checked;
    }
  }
  EXPECT_GT(checked, 8);
}

TEST(ImageHeader, EnhancedMrHasPerFrameGeometry) {
  const std::string root = CorpusRoot();
  if (root.empty()) GTEST_FAIL() << "no corpus";
  std::vector<uint8_t> bytes = ReadAll(root + "/dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm");
  int rounds = 0;
  auto h = ParseGrowing(bytes, 4096, &rounds);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->number_of_frames, 64u);
  std::set<double> z, te;
  for (const FrameHeader& f : h->frames) {
    ASSERT_TRUE(f.position && f.orientation && f.pixel_spacing);
    z.insert(std::round((*f.position)[2] * 100));
    if (f.echo_time) te.insert(*f.echo_time);
  }
  EXPECT_EQ(z.size(), 32u);   // 32 slices x 2 echoes (MANIFEST)
  EXPECT_EQ(te.size(), 2u);
}

TEST(ImageHeader, SiemensMosaicFromCsa) {
  const std::string root = CorpusRoot();
  if (root.empty()) GTEST_FAIL() << "no corpus";
  std::vector<uint8_t> bytes = ReadAll(root + "/dcm_qa_ts/In/1.dcm");
  int rounds = 0;
  auto h = ParseGrowing(bytes, 4096, &rounds);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->images_in_mosaic, 35u);  // 64x64x35 after de-mosaicing (MANIFEST)
  ASSERT_TRUE(h->mosaic_slice_normal.has_value());
}

// GantryDetectorTilt and PixelPaddingValue (recon's _Tilt volume needs
// both), explicit VR and converted to implicit VR by DCMTK's dcmconv, where
// the padding's VR (US or SS) is not in the file: against pydicom's values.
TEST(ImageHeader, TiltAndPaddingAgreeWithPydicom) {
  const std::string root = CorpusRoot();
  if (root.empty()) GTEST_FAIL() << "no corpus";
  const std::string explicit_vr = root + "/dcm_qa_ct_GE/In/GE/01.dcm";
  testing::TempDir tmp;
  const std::string implicit_vr = tmp.Sub("implicit.dcm");
  auto conv = testing::Shell("dcmconv +ti " + testing::ShellQuote(explicit_vr) + " " +
                             testing::ShellQuote(implicit_vr) + " 2>&1");
  ASSERT_EQ(conv.exit_code, 0) << conv.output;
  auto py = testing::Shell("/usr/bin/python3 -c " +
                           testing::ShellQuote("import pydicom,sys\n"
                                               "d=pydicom.dcmread(sys.argv[1])\n"
                                               "print(float(d.GantryDetectorTilt), int(d.PixelPaddingValue))") +
                           " " + testing::ShellQuote(explicit_vr) + " 2>&1");
  std::istringstream want(py.output);
  double tilt = 0;
  int64_t padding = 0;
  ASSERT_TRUE(want >> tilt >> padding) << py.output;
  for (const std::string& path : {explicit_vr, implicit_vr}) {
    int rounds = 0;
    auto h = ParseGrowing(ReadAll(path), 4096, &rounds);
    ASSERT_TRUE(h.ok()) << path << ": " << h.status().ToString();
    EXPECT_EQ(h->gantry_tilt, tilt) << path;
    ASSERT_TRUE(h->pixel_padding_value.has_value()) << path;
    // As stored: US in implicit VR is the SS value's two's complement.
    EXPECT_EQ(static_cast<int16_t>(*h->pixel_padding_value), padding) << path;
  }
}

}  // namespace
}  // namespace dcmfs
