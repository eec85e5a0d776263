// WriteSyntheticSet: a fixed, deterministic archive-in-miniature written
// with DCMTK, used by tests, benchmarks and the sample archive.
//
// Every series images the same analytic phantom in patient space (LPS, mm):
// a water cylinder along z (CT 0 HU) holding a sphere of radius
// kSphereRadiusMm at the origin (CT 700 HU; MR bright), air outside. The
// slices of a series are centred on the origin, so the sphere is in every
// volume whatever its orientation, giving recon/ and mesh/ ground truth.
//
// The set also carries the awkward cases a filesystem must name and place
// (see kPatients/kStudies/kSeries below): '/' in a description, Latin-1 and
// UTF-8 text, empty and maximal-length fields, two patients whose names
// sanitise alike, two series with the same number/modality/description, and
// duplicate Instance Numbers. UIDs are root + counters, dates fixed, noise
// from a seeded mt19937, so equal options give identical bytes.
#include "codecs/synthetic.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "codecs/internal/dcmtk_init.h"

namespace dcmfs {
namespace {

using Vec3 = std::array<double, 3>;

// Medical Connections' free UID root plus a fixed branch for dcmfs test data.
constexpr char kUidRoot[] = "1.2.826.0.1.3680043.10.1234";
constexpr double kSphereRadiusMm = 15.0;
constexpr double kCylinderRadiusMm = 22.0;
constexpr double kPixelSpacingMm = 0.8;
constexpr double kSliceSpacingMm = 2.0;
constexpr uint16_t kMaxStored = 4095;  // BitsStored 12

enum class Plane { kAxial, kOblique, kCoronal, kSagittal };
enum class Syntax { kExplicitLE, kRle, kBigEndian, kDeflated };

struct PatientSpec {
  const char* name;  // bytes in `charset`
  const char* id;
  const char* birth_date;
  const char* sex;
  const char* charset;  // "" for the default repertoire
};

struct StudySpec {
  int patient;
  const char* date;
  const char* time;
  const char* description;
  const char* accession;
};

struct SeriesSpec {
  int study;
  const char* modality;
  int number;
  const char* description;
  Plane plane;
  int slices;  // 0: options.ct_slices / mr_slices
  Syntax syntax;
  bool duplicate_instance_numbers;
};

constexpr PatientSpec kPatients[] = {
    {"Smith^Anna", "SYN-0001", "19650412", "F", ""},
    {"M\xFCller^J\xFCrgen", "SYN-0002", "19580730", "M", "ISO_IR 100"},  // Müller^Jürgen
    {"\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E", "SYN-0003", "19801224", "M",
     "ISO_IR 192"},  // 山田^太郎
    // 64 characters, the PN limit per component group (PS3.5 Table 6.2-1).
    {"Wolfeschlegelsteinhausenbergerdorff^Hubert Blaine Christopher Jr", "SYN-0004",
     "19991231", "M", ""},
    // Same name, IDs that differ only in '/' vs '_': equal once sanitised.
    {"Doe^Jane", "A/1", "19700101", "F", ""},
    {"Doe^Jane", "A_1", "19700101", "F", ""},
    {"", "SYN-0007", "", "O", ""},  // empty name (Type 2, present but empty)
};

constexpr StudySpec kStudies[] = {
    {0, "20230105", "081500", "CT Chest/Abdomen", "ACC0001"},
    {0, "20240220", "142030.250000", "", ""},
    {1, "20220911", "093000", "Sch\xE4" "del MRT", "ACC0002"},  // Schädel MRT
    {2, "20210101", "120000", "\xE9\xA0\xAD\xE9\x83\xA8 CT", "ACC0003"},  // 頭部 CT
    // 64 characters, the LO limit.
    {3, "20200606", "060606", "Very long study description reaching the LO limit of 64 chars...",
     "ACC0004"},
    {4, "20190301", "101010", "Knee", "ACC0005"},
    {5, "20190302", "111111", "Knee", "ACC0006"},
    {6, "20180808", "080808", "", ""},
};

constexpr SeriesSpec kSeries[] = {
    {0, "CT", 1, "Axial 2.0 Sphere", Plane::kAxial, 0, Syntax::kExplicitLE, false},
    {0, "CT", 2, "Oblique 20deg RLE", Plane::kOblique, 0, Syntax::kRle, false},
    {0, "CT", 3, "Scout", Plane::kAxial, 2, Syntax::kExplicitLE, false},
    {0, "CT", 3, "Scout", Plane::kAxial, 2, Syntax::kExplicitLE, false},
    {0, "CT", 4, "Recon/Soft Tissue", Plane::kAxial, 4, Syntax::kExplicitLE, true},
    {1, "MR", 1, "T1 Axial BigEndian", Plane::kAxial, 0, Syntax::kBigEndian, false},
    {2, "MR", 1, "T2 Coronal", Plane::kCoronal, 0, Syntax::kDeflated, false},
    {2, "MR", 2, "T1 Sagittal Fl\xE4" "che", Plane::kSagittal, 0, Syntax::kExplicitLE, false},
    {3, "CT", 1, "\xE8\xBB\xB8\xE4\xBD\x8D axial", Plane::kAxial, 4, Syntax::kExplicitLE,
     false},  // 軸位
    {4, "CT", 1, "Series description of exactly sixty-four characters, LO max.....",
     Plane::kAxial, 3, Syntax::kRle, false},
    {5, "CT", 1, "Knee", Plane::kAxial, 3, Syntax::kExplicitLE, false},
    {6, "CT", 1, "Knee", Plane::kAxial, 3, Syntax::kExplicitLE, false},
    {7, "MR", 1, "", Plane::kOblique, 3, Syntax::kExplicitLE, false},
};

struct Geometry {
  Vec3 row, col, normal;
};

Vec3 Cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

Geometry MakeGeometry(Plane plane) {
  Geometry g;
  switch (plane) {
    case Plane::kAxial:
      g.row = {1, 0, 0}, g.col = {0, 1, 0};
      break;
    case Plane::kOblique: {  // axial tilted 20 degrees about the patient's x axis
      const double a = 20.0 * std::numbers::pi / 180.0;
      g.row = {1, 0, 0}, g.col = {0, std::cos(a), -std::sin(a)};
      break;
    }
    case Plane::kCoronal:
      g.row = {1, 0, 0}, g.col = {0, 0, -1};
      break;
    case Plane::kSagittal:
      g.row = {0, 1, 0}, g.col = {0, 0, -1};
      break;
  }
  // PS3.3 C.7.6.2.1.1: the slice normal is row x column direction.
  g.normal = Cross(g.row, g.col);
  return g;
}

// Position of pixel (r, c) of slice k, with the volume centred on the origin.
Vec3 PixelPosition(const Geometry& g, const SyntheticOptions& o, int slices, double r, double c,
                   int k) {
  const double cu = (c - (o.columns - 1) / 2.0) * kPixelSpacingMm;
  const double rv = (r - (o.rows - 1) / 2.0) * kPixelSpacingMm;
  const double kw = (k - (slices - 1) / 2.0) * kSliceSpacingMm;
  Vec3 p;
  for (int i = 0; i < 3; ++i) p[i] = cu * g.row[i] + rv * g.col[i] + kw * g.normal[i];
  return p;
}

std::string FormatDs(double v) {
  if (std::fabs(v) < 1e-9) v = 0;  // no "-0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);  // <= 16 chars (DS limit) for our ranges
  return buf;
}

template <size_t N>
std::string FormatMulti(const std::array<double, N>& v) {
  std::string s;
  for (size_t i = 0; i < N; ++i) s += (i ? "\\" : "") + FormatDs(v[i]);
  return s;
}

std::string Uid(int kind, std::initializer_list<int> parts) {
  std::string s = std::string(kUidRoot) + "." + std::to_string(kind);
  for (int p : parts) s += "." + std::to_string(p + 1);
  return s;
}

// Stored pixel values of one slice: the phantom plus seeded noise.
std::vector<Uint16> PhantomSlice(const Geometry& g, const SyntheticOptions& o, int slices, int k,
                                 bool ct, std::mt19937& rng) {
  std::vector<Uint16> px(static_cast<size_t>(o.rows) * o.columns);
  for (uint32_t r = 0; r < o.rows; ++r) {
    for (uint32_t c = 0; c < o.columns; ++c) {
      const Vec3 p = PixelPosition(g, o, slices, r, c, k);
      const double d2 = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
      const double cyl2 = p[0] * p[0] + p[1] * p[1];
      double v;
      if (ct) {  // HU, stored as HU + 1024 (Rescale Intercept -1024)
        v = d2 <= kSphereRadiusMm * kSphereRadiusMm ? 700
            : cyl2 <= kCylinderRadiusMm * kCylinderRadiusMm ? 0
                                                            : -1000;
        v += 1024;
      } else {
        v = d2 <= kSphereRadiusMm * kSphereRadiusMm ? 800
            : cyl2 <= kCylinderRadiusMm * kCylinderRadiusMm ? 300
                                                            : 10;
      }
      v += static_cast<int>(rng() % 21) - 10;  // modulo keeps it identical across std libraries
      px[r * o.columns + c] = static_cast<Uint16>(std::clamp(v, 0.0, double{kMaxStored}));
    }
  }
  return px;
}

struct InstanceContext {
  const PatientSpec& patient;
  const StudySpec& study;
  const SeriesSpec& series;
  int study_index, series_index, slice, slices;
};

Status Put(DcmDataset& ds, const DcmTagKey& tag, const std::string& value) {
  OFCondition c = ds.putAndInsertOFStringArray(tag, value.c_str());
  if (c.bad()) return Status::Internal(std::string("DCMTK put: ") + c.text());
  return Status::Ok();
}

Status PutPatientStudySeries(DcmDataset& ds, const InstanceContext& x) {
  const bool ct = std::string(x.series.modality) == "CT";
  if (*x.patient.charset) RETURN_IF_ERROR(Put(ds, DCM_SpecificCharacterSet, x.patient.charset));
  RETURN_IF_ERROR(Put(ds, DCM_SOPClassUID, ct ? UID_CTImageStorage : UID_MRImageStorage));
  RETURN_IF_ERROR(Put(ds, DCM_PatientName, x.patient.name));
  RETURN_IF_ERROR(Put(ds, DCM_PatientID, x.patient.id));
  RETURN_IF_ERROR(Put(ds, DCM_PatientBirthDate, x.patient.birth_date));
  RETURN_IF_ERROR(Put(ds, DCM_PatientSex, x.patient.sex));
  RETURN_IF_ERROR(Put(ds, DCM_StudyInstanceUID, Uid(1, {x.study_index})));
  RETURN_IF_ERROR(Put(ds, DCM_StudyDate, x.study.date));
  RETURN_IF_ERROR(Put(ds, DCM_StudyTime, x.study.time));
  RETURN_IF_ERROR(Put(ds, DCM_StudyDescription, x.study.description));
  RETURN_IF_ERROR(Put(ds, DCM_AccessionNumber, x.study.accession));
  RETURN_IF_ERROR(Put(ds, DCM_StudyID, std::to_string(x.study_index + 1)));
  RETURN_IF_ERROR(Put(ds, DCM_ReferringPhysicianName, ""));
  RETURN_IF_ERROR(Put(ds, DCM_SeriesInstanceUID, Uid(2, {x.series_index})));
  RETURN_IF_ERROR(Put(ds, DCM_SeriesNumber, std::to_string(x.series.number)));
  RETURN_IF_ERROR(Put(ds, DCM_Modality, x.series.modality));
  RETURN_IF_ERROR(Put(ds, DCM_SeriesDescription, x.series.description));
  RETURN_IF_ERROR(Put(ds, DCM_SeriesDate, x.study.date));
  RETURN_IF_ERROR(Put(ds, DCM_SeriesTime, x.study.time));
  RETURN_IF_ERROR(Put(ds, DCM_Manufacturer, "dcmfs synthetic"));
  RETURN_IF_ERROR(Put(ds, DCM_FrameOfReferenceUID, Uid(4, {x.study_index})));
  RETURN_IF_ERROR(Put(ds, DCM_PositionReferenceIndicator, ""));
  if (ct) {
    RETURN_IF_ERROR(Put(ds, DCM_KVP, "120"));
  } else {
    RETURN_IF_ERROR(Put(ds, DCM_ScanningSequence, "SE"));
    RETURN_IF_ERROR(Put(ds, DCM_SequenceVariant, "NONE"));
    RETURN_IF_ERROR(Put(ds, DCM_ScanOptions, ""));
    RETURN_IF_ERROR(Put(ds, DCM_MRAcquisitionType, "2D"));
    RETURN_IF_ERROR(Put(ds, DCM_RepetitionTime, "500"));
    RETURN_IF_ERROR(Put(ds, DCM_EchoTime, "15"));
    RETURN_IF_ERROR(Put(ds, DCM_EchoTrainLength, "1"));
    RETURN_IF_ERROR(Put(ds, DCM_MagneticFieldStrength, "3"));
  }
  return Status::Ok();
}

Status PutImage(DcmDataset& ds, const InstanceContext& x, const SyntheticOptions& o,
                std::mt19937& rng) {
  const bool ct = std::string(x.series.modality) == "CT";
  const Geometry g = MakeGeometry(x.series.plane);
  // PS3.3 C.7.6.1.1.1: duplicate Instance Numbers are legal; we repeat the
  // second value once so naming code must disambiguate.
  int instance = x.slice + 1;
  if (x.series.duplicate_instance_numbers && x.slice >= 2) instance = x.slice;
  RETURN_IF_ERROR(Put(ds, DCM_SOPInstanceUID, Uid(3, {x.series_index, x.slice})));
  RETURN_IF_ERROR(Put(ds, DCM_InstanceNumber, std::to_string(instance)));
  RETURN_IF_ERROR(Put(ds, DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL"));
  RETURN_IF_ERROR(Put(ds, DCM_ContentDate, x.study.date));
  RETURN_IF_ERROR(Put(ds, DCM_ContentTime, x.study.time));
  RETURN_IF_ERROR(Put(ds, DCM_AcquisitionDate, x.study.date));
  RETURN_IF_ERROR(Put(ds, DCM_AcquisitionTime, x.study.time));
  RETURN_IF_ERROR(Put(ds, DCM_ImagePositionPatient,
                      FormatMulti(PixelPosition(g, o, x.slices, 0, 0, x.slice))));
  RETURN_IF_ERROR(Put(ds, DCM_ImageOrientationPatient,
                      FormatMulti(std::array<double, 6>{g.row[0], g.row[1], g.row[2], g.col[0],
                                                        g.col[1], g.col[2]})));
  RETURN_IF_ERROR(Put(ds, DCM_PixelSpacing, FormatDs(kPixelSpacingMm) + "\\" +
                                                FormatDs(kPixelSpacingMm)));
  RETURN_IF_ERROR(Put(ds, DCM_SliceThickness, FormatDs(kSliceSpacingMm)));
  RETURN_IF_ERROR(Put(ds, DCM_SpacingBetweenSlices, FormatDs(kSliceSpacingMm)));
  RETURN_IF_ERROR(Put(ds, DCM_SliceLocation, FormatDs((x.slice - (x.slices - 1) / 2.0) *
                                                      kSliceSpacingMm)));
  RETURN_IF_ERROR(Put(ds, DCM_BurnedInAnnotation, "NO"));
  if (ct) {
    RETURN_IF_ERROR(Put(ds, DCM_RescaleIntercept, "-1024"));
    RETURN_IF_ERROR(Put(ds, DCM_RescaleSlope, "1"));
    RETURN_IF_ERROR(Put(ds, DCM_RescaleType, "HU"));
  }
  RETURN_IF_ERROR(Put(ds, DCM_WindowCenter, ct ? "40" : "500"));
  RETURN_IF_ERROR(Put(ds, DCM_WindowWidth, ct ? "400" : "1000"));
  RETURN_IF_ERROR(Put(ds, DCM_PhotometricInterpretation, "MONOCHROME2"));
  const std::vector<Uint16> px = PhantomSlice(g, o, x.slices, x.slice, ct, rng);
  OFCondition c = ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  if (c.good()) c = ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(o.rows));
  if (c.good()) c = ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(o.columns));
  if (c.good()) c = ds.putAndInsertUint16(DCM_BitsAllocated, 16);
  if (c.good()) c = ds.putAndInsertUint16(DCM_BitsStored, 12);
  if (c.good()) c = ds.putAndInsertUint16(DCM_HighBit, 11);
  if (c.good()) c = ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  if (c.good()) {
    c = ds.putAndInsertUint16Array(DCM_PixelData, px.data(), static_cast<unsigned long>(px.size()));
  }
  if (c.bad()) return Status::Internal(std::string("DCMTK put pixels: ") + c.text());
  return Status::Ok();
}

E_TransferSyntax ToXfer(Syntax s) {
  switch (s) {
    case Syntax::kExplicitLE: return EXS_LittleEndianExplicit;
    case Syntax::kRle: return EXS_RLELossless;
    case Syntax::kBigEndian: return EXS_BigEndianExplicit;
    case Syntax::kDeflated: return EXS_DeflatedLittleEndianExplicit;
  }
  return EXS_LittleEndianExplicit;
}

Status WriteInstance(const InstanceContext& x, const SyntheticOptions& o, std::mt19937& rng,
                     const std::string& path) {
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  RETURN_IF_ERROR(PutPatientStudySeries(ds, x));
  RETURN_IF_ERROR(PutImage(ds, x, o, rng));
  const E_TransferSyntax xfer = ToXfer(x.series.syntax);
  if (x.series.syntax == Syntax::kRle) {
    // Encodes Pixel Data into RLE fragments (PS3.5 Annex G).
    OFCondition c = ds.chooseRepresentation(xfer, nullptr);
    if (c.bad() || !ds.canWriteXfer(xfer)) {
      return Status::Internal(std::string("RLE encoding failed: ") + c.text());
    }
  }
  OFCondition c = file.saveFile(path.c_str(), xfer);
  if (c.bad()) return Status::IoError(path + ": " + c.text());
  return Status::Ok();
}

std::string TwoDigits(const char* prefix, int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%02d", prefix, n);
  return buf;
}

}  // namespace

Result<std::vector<SyntheticFile>> WriteSyntheticSet(const SyntheticOptions& options) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  if (options.rows == 0 || options.columns == 0 || options.rows > 4096 ||
      options.columns > 4096) {
    return Status::InvalidArgument("synthetic image size must be 1..4096");
  }
  static std::once_flag rle_once;
  std::call_once(rle_once, [] { DcmRLEEncoderRegistration::registerCodecs(); });

  std::vector<SyntheticFile> files;
  for (int si = 0; si < static_cast<int>(std::size(kSeries)); ++si) {
    const SeriesSpec& series = kSeries[si];
    const StudySpec& study = kStudies[series.study];
    const PatientSpec& patient = kPatients[study.patient];
    const bool ct = std::string(series.modality) == "CT";
    const int slices = series.slices > 0 ? series.slices
                                         : static_cast<int>(ct ? options.ct_slices
                                                               : options.mr_slices);
    const std::string dir = options.out_dir + "/" + TwoDigits("patient", study.patient + 1) +
                            "/" + TwoDigits("study", series.study + 1) + "/" +
                            TwoDigits("series", si + 1);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IoError(dir + ": " + ec.message());
    std::mt19937 rng(options.seed * 1000003u + static_cast<uint32_t>(si));
    for (int k = 0; k < slices; ++k) {
      const InstanceContext x{patient, study, series, series.study, si, k, slices};
      char name[16];
      std::snprintf(name, sizeof name, "/%04d.dcm", k + 1);
      const std::string path = dir + name;
      RETURN_IF_ERROR(WriteInstance(x, options, rng, path));
      files.push_back({path, Uid(3, {si, k}), Uid(2, {si}), Uid(1, {series.study})});
    }
  }
  return files;
}

}  // namespace dcmfs
