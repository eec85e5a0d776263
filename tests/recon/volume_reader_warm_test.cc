// VolumeReader's storage hints (VolumeReaderOptions::warm): readers that go
// through a volume in order hint each slice ahead of them exactly once;
// random reads and a lone Slice() (a preview) hint nothing; and hints never
// change a byte read.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "recon/nifti.h"
#include "recon/volume_plan.h"
#include "recon/volume_reader.h"

namespace dcmfs {
namespace {

// Slices of 128 KiB, read in 128 KiB requests as the kernel does: a run
// counts as sequential from its start or once it is over 2 MiB long.
constexpr uint32_t kRows = 256, kCols = 256, kSlices = 50;
constexpr uint64_t kSliceBytes = kRows * kCols * 2;

std::shared_ptr<const SeriesPlan> AxialPlan() {
  std::vector<PlanInput> inputs;
  for (uint32_t i = 0; i < kSlices; ++i) {
    ImageHeader h;
    h.modality = "CT";
    h.rows = kRows;
    h.columns = kCols;
    h.bits_allocated = h.bits_stored = 16;
    h.high_bit = 15;
    h.pixel_representation = 1;
    FrameHeader f;
    f.position = std::array<double, 3>{0, 0, 2.0 * i};
    f.orientation = std::array<double, 6>{1, 0, 0, 0, 1, 0};
    f.pixel_spacing = std::array<double, 2>{0.5, 0.5};
    h.frames = {f};
    char key[8];
    std::snprintf(key, sizeof(key), "%03u", i);  // keys sort as slices do
    inputs.push_back({key, h});
  }
  auto plan = PlanVolumes(std::move(inputs));
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return std::make_shared<const SeriesPlan>(std::move(*plan));
}

FrameSource Source() {
  return [](const std::string& key, uint32_t) -> Result<DecodedFrame> {
    DecodedFrame f;
    f.format.rows = kRows;
    f.format.columns = kCols;
    f.format.type = SampleType::kInt16;
    f.data.resize(kSliceBytes);
    for (size_t i = 0; i < kSliceBytes / 2; ++i) {
      const int16_t v = static_cast<int16_t>(std::stoi(key) * 1000 + i % 1000);
      std::memcpy(f.data.data() + 2 * i, &v, 2);
    }
    return f;
  };
}

struct Hints {
  std::mutex mu;
  std::map<std::string, int> count;
  std::function<void(const std::string&)> Callback() {
    return [this](const std::string& key) {
      std::lock_guard lock(mu);
      ++count[key];
    };
  }
};

std::string ReadRange(const VolumeReader& r, uint64_t offset, size_t n) {
  std::string buf(n, '\0');
  auto got = r.ReadAt(offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), n));
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  buf.resize(got.ok() ? *got : 0);
  return buf;
}

TEST(VolumeReaderWarm, SequentialReadHintsEverySliceAheadOnce) {
  auto plan = AxialPlan();
  Hints hints;
  VolumeReaderOptions options;
  options.warm_slices = 8;
  options.warm = hints.Callback();
  VolumeReader reader(plan, 0, Source(), options);
  VolumeReader plain(plan, 0, Source(), {});
  std::string all, expected = ReadRange(plain, 0, plain.size());
  constexpr size_t kRequest = 128 * 1024;
  for (uint64_t off = 0; off < reader.size(); off += kRequest) all += ReadRange(reader, off, kRequest);
  EXPECT_TRUE(all == expected);  // hints change nothing read
  std::lock_guard lock(hints.mu);
  auto hinted = [&](uint32_t z) {
    auto it = hints.count.find(plan->keys[plan->volumes[0].slices[z].instance]);
    return it == hints.count.end() ? 0 : it->second;
  };
  // The first read (from the start) hints the slices after it; once the run
  // is long, every slice ahead; none twice, and never the one being read.
  EXPECT_EQ(hinted(0), 0);
  EXPECT_EQ(hinted(1), 1);
  for (uint32_t z = 20; z < kSlices; ++z) EXPECT_EQ(hinted(z), 1) << z;
  for (const auto& [key, n] : hints.count) EXPECT_EQ(n, 1) << key;
}

TEST(VolumeReaderWarm, RandomReadsAndALoneSliceHintNothing) {
  auto plan = AxialPlan();
  Hints hints;
  VolumeReaderOptions options;
  options.warm_slices = 8;
  options.warm = hints.Callback();
  VolumeReader reader(plan, 0, Source(), options);
  for (uint32_t z : {30u, 5u, 44u, 17u}) {
    ReadRange(reader, kNiftiHeaderBytes + z * kSliceBytes + 3, 10);
  }
  ASSERT_TRUE(reader.Slice(25).ok());
  std::lock_guard lock(hints.mu);
  EXPECT_TRUE(hints.count.empty());
}

TEST(VolumeReaderWarm, SlicesInOrderHintAhead) {
  auto plan = AxialPlan();
  Hints hints;
  VolumeReaderOptions options;
  options.warm_slices = 8;
  options.warm = hints.Callback();
  VolumeReader reader(plan, 0, Source(), options);
  ASSERT_TRUE(reader.Slice(10).ok());
  ASSERT_TRUE(reader.Slice(11).ok());  // in order: slices 12..19 hinted
  std::lock_guard lock(hints.mu);
  EXPECT_EQ(hints.count.size(), 8u);
  for (uint32_t z = 12; z < 20; ++z) {
    EXPECT_EQ(hints.count.count(plan->keys[plan->volumes[0].slices[z].instance]), 1u) << z;
  }
}

}  // namespace
}  // namespace dcmfs
