// The catalog's on-disk encoding: keys sort so that a folder is one
// contiguous prefix, every record round-trips field for field, and damaged
// values are Corruption, never a crash.
#include "index/internal/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace dcmfs::internal {
namespace {

TEST(CodecTest, DirentKeysOfOneFolderAreContiguousAndNameOrdered) {
  // Big-endian parent inodes: 0x00ff.. sorts before 0x0100.. whatever the names.
  std::vector<std::string> keys = {DirentKey(0x0100, "a"), DirentKey(0x00ff, "zzzz"),
                                   DirentKey(0x0100, "b"), DirentKey(0x00ff, "\xc3\xa9")};
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys[0], DirentKey(0x00ff, "zzzz"));
  EXPECT_EQ(keys[1], DirentKey(0x00ff, "\xc3\xa9"));
  EXPECT_EQ(keys[2], DirentKey(0x0100, "a"));
  for (const std::string& k : keys) EXPECT_EQ(k.size() > 8, true);
  EXPECT_EQ(DirentKey(0x0100, "a").substr(0, 8), ParentPrefix(0x0100));
  // A series' instances share the series prefix and never another series'.
  Digest d{};
  d[0] = 0xff;
  EXPECT_EQ(InstanceKey("1.2.3", d).rfind(std::string("1.2.3") + '\0', 0), 0u);
  EXPECT_NE(InstanceKey("1.2.34", d).rfind(std::string("1.2.3") + '\0', 0), 0u);
}

TEST(CodecTest, DirEntryRoundTrips) {
  DirEntry e;
  e.name = "0001 ~1a2b3c.dcm";
  e.ino = 0x7fffffffffffffffull;
  e.kind = NodeKind::kInstance;
  e.view = View::kStudies;
  e.ref = std::string(64, 'a');
  e.size = 5ull << 32;  // over 4 GiB
  e.mtime = -86400;     // before the epoch
  auto back = DecodeDirEntry(DirentKey(77, e.name), EncodeDirEntry(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, e.name);
  EXPECT_EQ(back->ino, e.ino);
  EXPECT_EQ(back->kind, e.kind);
  EXPECT_EQ(back->view, e.view);
  EXPECT_EQ(back->ref, e.ref);
  EXPECT_EQ(back->size, e.size);
  EXPECT_EQ(back->mtime, e.mtime);
}

InstanceRecord FullInstance() {
  InstanceRecord r;
  for (size_t i = 0; i < r.digest.size(); ++i) r.digest[i] = static_cast<uint8_t>(i * 7);
  r.size = 6ull << 30;
  r.mtime = 1700000000;
  InstanceMeta& m = r.meta;
  m.patient_name = "Müller^Jürgen";
  m.patient_id = "ID/1";
  m.study_uid = "1.2.3";
  m.series_uid = "1.2.3.4";
  m.sop_uid = "1.2.3.4.5";
  m.series_number = -3;
  m.instance_number = 0;  // present and zero is not absent
  m.modality = "CT";
  m.image_position = std::array<double, 3>{-125.5, 0.0, 1e-9};
  m.image_orientation = std::array<double, 6>{1, 0, 0, 0, 0.70710678118654757, -0.70710678118654757};
  m.pixel_spacing = std::array<double, 2>{0.488281, 0.488281};
  m.slice_thickness = 2.5;
  m.rows = 512;
  m.columns = 511;
  m.number_of_frames = 96;
  m.bits_allocated = 16;
  m.bits_stored = 12;
  m.high_bit = 11;
  m.pixel_representation = 1;
  m.samples_per_pixel = 1;
  m.photometric_interpretation = "MONOCHROME2";
  m.has_pixel_data = true;
  m.rescale_slope = 0.5;
  m.rescale_intercept = -1024;
  m.window_center = "40\\400";
  m.transfer_syntax_uid = "1.2.840.10008.1.2.5";
  return r;
}

TEST(CodecTest, InstanceRecordRoundTripsEveryKindOfField) {
  const InstanceRecord r = FullInstance();
  auto back = DecodeInstance(EncodeInstance(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->digest, r.digest);
  EXPECT_EQ(back->size, r.size);
  EXPECT_EQ(back->mtime, r.mtime);
  const InstanceMeta& a = back->meta;
  const InstanceMeta& b = r.meta;
  EXPECT_EQ(a.patient_name, b.patient_name);
  EXPECT_EQ(a.patient_id, b.patient_id);
  EXPECT_EQ(a.sop_uid, b.sop_uid);
  EXPECT_EQ(a.series_number, b.series_number);
  EXPECT_EQ(a.instance_number, b.instance_number);
  EXPECT_EQ(a.image_position, b.image_position);
  EXPECT_EQ(a.image_orientation, b.image_orientation);  // doubles bit-exact
  EXPECT_EQ(a.pixel_spacing, b.pixel_spacing);
  EXPECT_EQ(a.slice_thickness, b.slice_thickness);
  EXPECT_FALSE(a.spacing_between_slices.has_value());
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.columns, b.columns);
  EXPECT_EQ(a.number_of_frames, b.number_of_frames);
  EXPECT_EQ(a.bits_stored, b.bits_stored);
  EXPECT_EQ(a.pixel_representation, b.pixel_representation);
  EXPECT_EQ(a.has_pixel_data, b.has_pixel_data);
  EXPECT_EQ(a.rescale_slope, b.rescale_slope);
  EXPECT_EQ(a.rescale_intercept, b.rescale_intercept);
  EXPECT_EQ(a.window_center, b.window_center);
  EXPECT_EQ(a.transfer_syntax_uid, b.transfer_syntax_uid);
}

TEST(CodecTest, SeriesAndCountsRoundTrip) {
  SeriesRecord s;
  s.uid = "1.2";
  s.study_uid = "1";
  s.number = 0;
  s.modality = "MR";
  s.description = "T1 / sag";
  s.instance_count = 3;
  s.generation = "ab:3";
  s.mtime = 42;
  auto back = DecodeSeries(EncodeSeries(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->number, s.number);
  EXPECT_EQ(back->description, s.description);
  EXPECT_EQ(back->generation, s.generation);
  EXPECT_EQ(back->instance_count, 3u);
  Catalog::Counts c{1, 2, 3, 4, 5ull << 40};
  auto cb = DecodeCounts(EncodeCounts(c));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->bytes, c.bytes);
  EXPECT_EQ(cb->instances, 4u);
}

TEST(CodecTest, DamagedValuesAreCorruptionNeverACrash) {
  const std::string good = EncodeInstance(FullInstance());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto r = DecodeInstance(std::string_view(good).substr(0, cut));
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)DecodeInstance(bad);  // any result but a crash
    (void)DecodeDirEntry(DirentKey(1, "x"), bad.substr(0, rng() % 40));
  }
  EXPECT_FALSE(DecodeSeries("not cbor at all").ok());
  EXPECT_FALSE(DecodeDirEntry(DirentKey(1, "x"), "short").ok());
}

}  // namespace
}  // namespace dcmfs::internal
