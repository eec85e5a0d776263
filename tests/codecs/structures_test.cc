// RT Structure Sets, Segmentations and encapsulated models from the corpus,
// read by codecs/structures.h and by pydicom; both print the same summary
// and the summaries must match.
#include "codecs/structures.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::CorpusDir;
using testing::ReadFileOrEmpty;
using testing::Shell;
using testing::ShellQuote;

constexpr char kPydicomSummary[] = R"PY(
import sys
import pydicom
ds = pydicom.dcmread(sys.argv[2])
kind = sys.argv[1]
def f(v):
    return '%.3f' % float(v)
if kind == 'rt':
    contours = {}
    for rc in ds.get('ROIContourSequence', []):
        contours[int(rc.ReferencedROINumber)] = rc.get('ContourSequence', [])
    for roi in ds.StructureSetROISequence:
        cs = contours.get(int(roi.ROINumber), [])
        pts = sum(len(c.get('ContourData', [])) // 3 for c in cs)
        total = sum(float(v) for c in cs for v in c.get('ContourData', []))
        print('roi', int(roi.ROINumber), repr(str(roi.get('ROIName', ''))), len(cs), pts, f(total))
elif kind == 'seg':
    print('seg', ds.SegmentationType, ds.Rows, ds.Columns, len(ds.PerFrameFunctionalGroupsSequence))
    for s in ds.SegmentSequence:
        print('segment', int(s.SegmentNumber), repr(str(s.SegmentLabel)))
    for i, fg in enumerate(ds.PerFrameFunctionalGroupsSequence):
        n = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber) if 'SegmentIdentificationSequence' in fg else 0
        p = fg.PlanePositionSequence[0].ImagePositionPatient if 'PlanePositionSequence' in fg else None
        print('frame', i, n, ' '.join(f(v) for v in p) if p else '-')
)PY";

std::string Quoted(const std::string& s) {
  // Python's repr of a plain ASCII str without quotes inside.
  return "'" + s + "'";
}

std::string Ours(const std::string& kind, const std::string& path) {
  const std::string bytes = ReadFileOrEmpty(path);
  std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::string out;
  char buf[256];
  if (kind == "rt") {
    auto rt = ParseRtStructureSet(span);
    if (!rt.ok()) return rt.status().ToString();
    for (const RtRoi& roi : rt->rois) {
      size_t pts = 0;
      double total = 0;
      for (const RtContour& c : roi.contours) {
        pts += c.points.size();
        for (const auto& p : c.points) total += p[0] + p[1] + p[2];
      }
      std::snprintf(buf, sizeof(buf), " %zu %zu %.3f\n", roi.contours.size(), pts, total);
      out += "roi " + std::to_string(roi.number) + " " + Quoted(roi.name) + buf;
    }
  } else {
    auto seg = ParseSegmentation(span);
    if (!seg.ok()) return seg.status().ToString();
    out += "seg " + seg->type + " " + std::to_string(seg->rows) + " " +
           std::to_string(seg->columns) + " " + std::to_string(seg->frames.size()) + "\n";
    for (const SegSegment& s : seg->segments) {
      out += "segment " + std::to_string(s.number) + " " + Quoted(s.label) + "\n";
    }
    for (const SegFrame& f : seg->frames) {
      out += "frame " + std::to_string(f.index) + " " + std::to_string(f.segment_number) + " ";
      if (f.position) {
        std::snprintf(buf, sizeof(buf), "%.3f %.3f %.3f\n", (*f.position)[0], (*f.position)[1],
                      (*f.position)[2]);
        out += buf;
      } else {
        out += "-\n";
      }
    }
  }
  return out;
}

void ExpectSameAsPydicom(const std::string& kind, const std::string& rel) {
  const std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "no corpus";
  const std::string path = corpus + "/" + rel;
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.Sub("summary.py"), kPydicomSummary);
  const auto ref = Shell("/usr/bin/python3 " + ShellQuote(dir.Sub("summary.py")) + " " + kind +
                         " " + ShellQuote(path));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  ASSERT_FALSE(ref.output.empty());
  EXPECT_EQ(Ours(kind, path), ref.output) << rel;
}

TEST(StructuresTest, RtStructureSetsMatchPydicom) {
  ExpectSameAsPydicom("rt", "rt-utils/tests/mock_data/rt.dcm");
  ExpectSameAsPydicom("rt", "matRad/dicomExport/RTstruct.dcm");
}

TEST(StructuresTest, SegmentationsMatchPydicom) {
  for (const char* rel :
       {"dcmqi/data/segmentations/liver.dcm", "dcmqi/data/segmentations/partial_overlaps.dcm",
        "dcmqi/data/segmentations/24x38x3/seg/label.seg",
        "highdicom/test_files/seg_image_ct_binary.dcm",
        "highdicom/test_files/seg_image_ct_binary_fractional.dcm",
        "highdicom/test_files/seg_image_ct_binary_overlap.dcm", "orthanc-tests/DicomSeg.dcm"}) {
    ExpectSameAsPydicom("seg", rel);
  }
}

TEST(StructuresTest, EncapsulatedStlIsTheOriginalFile) {
  const std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "no corpus";
  const std::string dir = corpus + "/constructed/encapsulated_stl/";
  const std::string dcm = ReadFileOrEmpty(dir + "encapsulated_stl_moon.dcm");
  const std::string stl = ReadFileOrEmpty(dir + "Moon.stl");
  ASSERT_FALSE(dcm.empty());
  ASSERT_FALSE(stl.empty());
  auto doc = ExtractEncapsulatedDocument(
      std::span(reinterpret_cast<const uint8_t*>(dcm.data()), dcm.size()));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->extension, "stl");
  EXPECT_EQ(doc->document, stl);
}

TEST(StructuresTest, StlEncapsulatedByDcmtkComesBackExactly) {
  testing::TempDir dir;
  std::string stl(84 + 50 * 3, '\0');
  stl.replace(0, 7, "example");
  stl[80] = 3;
  for (size_t i = 84; i < stl.size(); ++i) stl[i] = char(i * 7);
  testing::WriteFileOrDie(dir.Sub("in.stl"), stl);
  const auto r = Shell("stl2dcm --generate " + ShellQuote(dir.Sub("in.stl")) + " " +
                       ShellQuote(dir.Sub("out.dcm")) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string dcm = ReadFileOrEmpty(dir.Sub("out.dcm"));
  auto doc = ExtractEncapsulatedDocument(
      std::span(reinterpret_cast<const uint8_t*>(dcm.data()), dcm.size()));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->document, stl);
  EXPECT_EQ(doc->sop_class_uid, kEncapsulatedStlStorage);
  EXPECT_EQ(doc->extension, "stl");
}

// An odd-length OBJ (text) encapsulated by pydicom: the value is padded to
// even length and Encapsulated Document Length says where the file ends.
TEST(StructuresTest, OddLengthObjLosesItsPadByte) {
  testing::TempDir dir;
  const std::string obj = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n#";
  ASSERT_EQ(obj.size() % 2, 1u);
  testing::WriteFileOrDie(dir.Sub("in.obj"), obj);
  testing::WriteFileOrDie(dir.Sub("wrap.py"), R"PY(
import sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
doc = open(sys.argv[1], 'rb').read()
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.104.4'
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = meta
ds.SOPClassUID = meta.MediaStorageSOPClassUID
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid()
ds.SeriesInstanceUID = generate_uid()
ds.Modality = 'M3D'
ds.MIMETypeOfEncapsulatedDocument = 'model/obj'
ds.EncapsulatedDocument = doc + (b'\0' if len(doc) % 2 else b'')
ds.add_new(0x00420015, 'UL', len(doc))
ds.is_little_endian = True
ds.is_implicit_VR = False
ds.save_as(sys.argv[2], write_like_original=False)
)PY");
  const auto r = Shell("/usr/bin/python3 " + ShellQuote(dir.Sub("wrap.py")) + " " +
                       ShellQuote(dir.Sub("in.obj")) + " " + ShellQuote(dir.Sub("out.dcm")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string dcm = ReadFileOrEmpty(dir.Sub("out.dcm"));
  auto doc = ExtractEncapsulatedDocument(
      std::span(reinterpret_cast<const uint8_t*>(dcm.data()), dcm.size()));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->document, obj);
  EXPECT_EQ(doc->extension, "obj");
  EXPECT_EQ(doc->mime_type, "model/obj");
}

TEST(StructuresTest, NotAStructure) {
  const uint8_t junk[] = {1, 2, 3};
  EXPECT_FALSE(ParseRtStructureSet(junk).ok());
  EXPECT_FALSE(ParseSegmentation(junk).ok());
  EXPECT_FALSE(ExtractEncapsulatedDocument(junk).ok());
  const std::string corpus = CorpusDir();
  if (corpus.empty()) return;
  const std::string ct = ReadFileOrEmpty(corpus + "/rt-utils/tests/mock_data/ct_1.dcm");
  std::span span(reinterpret_cast<const uint8_t*>(ct.data()), ct.size());
  EXPECT_EQ(ParseRtStructureSet(span).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSegmentation(span).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcmfs
