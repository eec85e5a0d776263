// Every file of ../shared/corpus (real data written by others) that holds
// pixels decodes, every frame, or is refused as Unsupported with its
// transfer syntax named. Decoded frames are checked against references
// decoded by other implementations: pydicom (tests/codecs/pixel_reference.py)
// where it has a decoder, else GDCM (gdcmconv --raw, then our native path).
// Prints a table per transfer syntax. Skipped when the corpus is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "codecs/pixel_decode.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::ReadFileOrEmpty;
using testing::Shell;
using testing::ShellQuote;
using testing::TempDir;

std::string Corpus() {
  if (const char* env = std::getenv("DCMFS_CORPUS"); env && *env) return env;
  return testing::CorpusDir();
}

struct Listed {
  std::string path, ts, reference, tolerance, id;
  uint32_t frames = 1;
  std::vector<uint32_t> sampled;
};

std::vector<Listed> ReadListing(const std::string& tsv) {
  std::vector<Listed> out;
  std::istringstream in(tsv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    if (f.size() != 7) continue;
    Listed l{f[0], f[1], f[3], f[4], f[6], static_cast<uint32_t>(std::stoul(f[2])), {}};
    std::stringstream fs(f[5]);
    while (std::getline(fs, cell, ','))
      l.sampled.push_back(static_cast<uint32_t>(std::stoul(cell)));
    out.push_back(l);
  }
  return out;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Largest and mean absolute difference, samples read as the decoded type.
struct Diff {
  double max = 0, mean = 0;
  bool size_mismatch = false;
};

double SampleAt(const DecodedFrame& f, const std::string& bytes, size_t i) {
  const char* p = bytes.data() + i * SampleSize(f.format.type);
  switch (f.format.type) {
    case SampleType::kUint8:
      return static_cast<uint8_t>(*p);
    case SampleType::kInt8:
      return static_cast<int8_t>(*p);
    case SampleType::kUint16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case SampleType::kInt16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case SampleType::kUint32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case SampleType::kInt32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case SampleType::kFloat32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
  }
  return 0;
}

Diff Compare(const DecodedFrame& ours, const std::string& reference) {
  Diff d;
  if (reference.size() != ours.data.size()) {
    d.size_mismatch = true;
    return d;
  }
  const std::string mine(ours.data.begin(), ours.data.end());
  const size_t n = ours.data.size() / SampleSize(ours.format.type);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = std::fabs(SampleAt(ours, mine, i) - SampleAt(ours, reference, i));
    d.max = std::max(d.max, e);
    sum += e;
  }
  d.mean = n ? sum / n : 0;
  return d;
}

// Lossless must match exactly; lossy codecs within what two conforming
// decoders may differ by (IDCT and chroma upsampling, T.81 A.3.3).
bool WithinTolerance(const Diff& d, const std::string& tolerance) {
  if (d.size_mismatch) return false;
  if (tolerance == "exact") return d.max == 0;
  return d.mean <= 2.0 && d.max <= 64;
}

struct Row {
  int files = 0, frames = 0, refused = 0, unreadable = 0, failed = 0, checked = 0, mismatched = 0;
  std::string reason;
};

TEST(PixelCorpusTest, EveryPixelFileDecodesOrIsRefusedByName) {
  const std::string corpus = Corpus();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  TempDir dir;
  const std::string script = testing::SourceDir() + "/tests/codecs/pixel_reference.py";
  auto listing = Shell("/usr/bin/python3 " + ShellQuote(script) + " " + ShellQuote(corpus) + " " +
                       ShellQuote(dir.path()) + " 2>/dev/null");
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  const std::vector<Listed> files = ReadListing(listing.output);
  ASSERT_GT(files.size(), 500u) << "pydicom found too few pixel files";
  const bool have_gdcm = Shell("command -v gdcmconv").exit_code == 0;

  std::map<std::string, Row> table;
  int gdcm_checks = 0, pydicom_checks = 0;
  for (const Listed& l : files) {
    Row& row = table[l.ts.empty() ? "(none)" : l.ts];
    ++row.files;
    const std::string bytes = ReadFileOrEmpty(l.path);
    auto dec = PixelDecoder::Open(Bytes(bytes));
    if (!dec.ok() && dec.status().code() == StatusCode::kUnsupported) {
      ++row.refused;
      row.reason = dec.status().message().substr(0, 90);
      EXPECT_NE(dec.status().message().find(l.ts), std::string::npos)
          << l.path << ": refusal does not name " << l.ts << ": " << dec.status().ToString();
      continue;
    }
    if (!dec.ok()) {
      // Acceptable only for a file DCMTK's dcmdump cannot read either
      // (pydicom test files that are deliberately broken).
      if (Shell("dcmdump -q " + ShellQuote(l.path) + " >/dev/null 2>&1").exit_code != 0) {
        ++row.unreadable;
        continue;
      }
      ++row.failed;
      ADD_FAILURE() << l.path << ": " << dec.status().ToString();
      continue;
    }
    PixelDecoder& d = **dec;
    EXPECT_EQ(d.frame_count(), l.frames) << l.path;
    std::map<uint32_t, DecodedFrame> kept;
    bool ok = true;
    for (uint32_t f = 0; f < d.frame_count(); ++f) {
      auto frame = d.Decode(f);
      if (!frame.ok()) {
#if defined(__SANITIZE_ADDRESS__)
        // Sanitizer builds do not load CharLS 2 (pixel_charls.cc), and DCMTK's
        // CharLS 1 cannot decode this 7-bit stream (dcmdjpls fails on it too).
        if (l.path.ends_with("JLSL_08_07_0_1F.dcm")) {
          ++row.unreadable;
          ok = false;
          break;
        }
#endif
        ADD_FAILURE() << l.path << " frame " << f << ": " << frame.status().ToString();
        ok = false;
        break;
      }
      ++row.frames;
      if (std::find(l.sampled.begin(), l.sampled.end(), f) != l.sampled.end()) {
        kept[f] = std::move(frame).value();
      }
    }
    if (!ok) {
      ++row.failed;
      continue;
    }
    // Reference 1: pydicom's frames. Reference 2: GDCM's native rewrite.
    std::unique_ptr<PixelDecoder> gdcm;
    std::string gdcm_bytes;
    if (l.reference != "pydicom" && have_gdcm) {
      const std::string raw = dir.Sub("gdcm_" + l.id + ".dcm");
      if (Shell("gdcmconv --raw " + ShellQuote(l.path) + " " + ShellQuote(raw)).exit_code == 0) {
        gdcm_bytes = ReadFileOrEmpty(raw);
        auto g = PixelDecoder::Open(Bytes(gdcm_bytes));
        if (g.ok()) gdcm = std::move(g).value();
      }
    }
    for (auto& [f, frame] : kept) {
      std::string reference;
      if (l.reference == "pydicom") {
        reference = ReadFileOrEmpty(dir.Sub(l.id + "_" + std::to_string(f) + ".bin"));
        ++pydicom_checks;
      } else if (gdcm) {
        auto g = gdcm->Decode(f);
        if (!g.ok()) continue;
        reference.assign(g->data.begin(), g->data.end());
        ++gdcm_checks;
      } else {
        continue;
      }
      ++row.checked;
      const Diff diff = Compare(frame, reference);
      if (!WithinTolerance(diff, l.tolerance)) {
        ++row.mismatched;
        ADD_FAILURE() << l.path << " frame " << f << " differs from "
                      << (l.reference == "pydicom" ? "pydicom" : "gdcmconv --raw")
                      << (diff.size_mismatch ? ": size " + std::to_string(reference.size()) +
                                                   " vs ours " + std::to_string(frame.data.size())
                                             : ": max " + std::to_string(diff.max) + " mean " +
                                                   std::to_string(diff.mean));
      }
    }
  }
  std::printf("\n%-24s %5s %6s %7s %10s %6s %7s %6s  %s\n", "transfer syntax", "files", "frames",
              "refused", "unreadable", "failed", "checked", "differ", "reason refused");
  for (const auto& [ts, r] : table) {
    std::printf("%-24s %5d %6d %7d %10d %6d %7d %6d  %s\n", ts.c_str(), r.files, r.frames,
                r.refused, r.unreadable, r.failed, r.checked, r.mismatched, r.reason.c_str());
  }
  std::printf("frames checked against pydicom: %d, against gdcmconv --raw: %d\n", pydicom_checks,
              gdcm_checks);
  EXPECT_GT(pydicom_checks, 500);
}

// Corpus files that hold the same image in different transfer syntaxes (their
// authors made them so: dcm_qa_ts stores one mosaic nine ways; pydicom-data's
// liver, emri_small and JLSL_RGB sets) decode to identical frames.
TEST(PixelCorpusTest, SameImageInEveryLosslessSyntaxDecodesIdentically) {
  const std::string corpus = Corpus();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  const std::vector<std::vector<std::string>> groups = {
      {"dcm_qa/dcm_qa_ts/In/1.dcm", "dcm_qa/dcm_qa_ts/In/2.dcm", "dcm_qa/dcm_qa_ts/In/3.dcm",
       "dcm_qa/dcm_qa_ts/In/4.dcm", "dcm_qa/dcm_qa_ts/In/5.dcm", "dcm_qa/dcm_qa_ts/In/6.dcm",
       "dcm_qa/dcm_qa_ts/In/7.dcm", "dcm_qa/dcm_qa_ts/In/8.dcm", "dcm_qa/dcm_qa_ts/In/9.dcm"},
      {"pydicom/pydicom-data/liver.dcm", "pydicom/pydicom-data/liver_rle.dcm",
       "pydicom/pydicom-data/liver_j2k.dcm", "pydicom/pydicom-data/liver_deflate.dcm"},
      {"pydicom/test_files/liver_1frame.dcm", "pydicom/test_files/liver_expb_1frame.dcm"},
      {"pydicom/pydicom-data/emri_small.dcm", "pydicom/pydicom-data/emri_small_RLE.dcm",
       "pydicom/pydicom-data/emri_small_jpeg_2k_lossless.dcm",
       "pydicom/pydicom-data/emri_small_jpeg_ls_lossless.dcm"},
      {"pydicom/pydicom-data/JLSL_RGB_ILV0.dcm", "pydicom/pydicom-data/JLSL_RGB_ILV1.dcm",
       "pydicom/pydicom-data/JLSL_RGB_ILV2.dcm"},
  };
  int compared = 0;
  for (const auto& group : groups) {
    std::vector<std::vector<uint8_t>> first;
    std::string first_name;
    for (const std::string& rel : group) {
      const std::string bytes = ReadFileOrEmpty(corpus + "/" + rel);
      if (bytes.empty()) continue;
      auto d = PixelDecoder::Open(Bytes(bytes));
      if (!d.ok() && d.status().code() == StatusCode::kUnsupported) {
        std::printf("%s: refused: %s\n", rel.c_str(), d.status().message().c_str());
        continue;
      }
      ASSERT_TRUE(d.ok()) << rel << ": " << d.status().ToString();
      std::vector<std::vector<uint8_t>> frames;
      for (uint32_t f = 0; f < (*d)->frame_count(); ++f) {
        auto frame = (*d)->Decode(f);
        ASSERT_TRUE(frame.ok()) << rel << " frame " << f << ": " << frame.status().ToString();
        frames.push_back(frame->data);
      }
      if (first_name.empty()) {
        first = std::move(frames);
        first_name = rel;
        continue;
      }
      ASSERT_EQ(frames.size(), first.size()) << rel << " vs " << first_name;
      for (size_t f = 0; f < frames.size(); ++f) {
        EXPECT_TRUE(frames[f] == first[f])
            << rel << " frame " << f << " differs from " << first_name;
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 12);
}

}  // namespace
}  // namespace dcmfs
