// MPR grid and sampling: a linear field in patient coordinates must come
// back exactly (trilinear interpolation reproduces linear functions), in the
// radiological display orientation of each plane.
#include "recon/mpr.h"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

namespace dcmfs {
namespace {

using V3 = std::array<double, 3>;

// A volume whose voxel steps are the LPS vectors `di`, `dj`, `dk` from LPS `origin`.
VolumePlan Volume(uint32_t n, V3 origin, V3 di, V3 dj, V3 dk) {
  VolumePlan v;
  v.nx = v.ny = n;
  v.nz = n - 2;
  v.voxel_type = SampleType::kFloat32;
  v.apply_rescale = true;
  const V3 cols[3] = {di, dj, dk};
  for (int c = 0; c < 3; ++c) {
    v.affine[0][c] = -cols[c][0];  // RAS = (-L, -P, S)
    v.affine[1][c] = -cols[c][1];
    v.affine[2][c] = cols[c][2];
  }
  v.affine[0][3] = -origin[0];
  v.affine[1][3] = -origin[1];
  v.affine[2][3] = origin[2];
  return v;
}

// The field: a different slope per LPS axis so every mix-up shows.
double Field(const V3& p) { return 1.0 * p[0] + 10.0 * p[1] + 100.0 * p[2]; }

SliceSource FieldSlices(const VolumePlan& v, V3 origin, V3 di, V3 dj, V3 dk) {
  return [=](uint32_t z) -> Result<ModalitySlice> {
    auto s = std::make_shared<std::vector<float>>(size_t{v.nx} * v.ny);
    for (uint32_t j = 0; j < v.ny; ++j) {
      for (uint32_t i = 0; i < v.nx; ++i) {
        V3 p;
        for (int a = 0; a < 3; ++a) p[a] = origin[a] + i * di[a] + j * dj[a] + z * dk[a];
        (*s)[size_t{j} * v.nx + i] = static_cast<float>(Field(p));
      }
    }
    return ModalitySlice(s);
  };
}

TEST(MprTest, AxialVolumeReformatsInDisplayOrientation) {
  const V3 origin{-50, -40, 10}, di{2, 0, 0}, dj{0, 2, 0}, dk{0, 0, 3};
  VolumePlan v = Volume(12, origin, di, dj, dk);
  Result<MprGrid> grid = MprGridFor(v);
  ASSERT_TRUE(grid.ok()) << grid.status().ToString();
  EXPECT_EQ(grid->dims, (std::array<uint32_t, 3>{12, 12, 10}));
  EXPECT_DOUBLE_EQ(grid->spacing[2], 3.0);
  SliceSource slices = FieldSlices(v, origin, di, dj, dk);

  // Axial image 0 is the most inferior slice; row 0 anterior, column 0 right.
  auto axial = SampleMprImage(v, *grid, MprPlane::kAxial, 0, slices);
  ASSERT_TRUE(axial.ok());
  EXPECT_NEAR((*axial)[0], Field({-50, -40, 10}), 1e-3);
  EXPECT_NEAR((*axial)[1], Field({-48, -40, 10}), 1e-3);   // one column: to the left
  EXPECT_NEAR((*axial)[12], Field({-50, -38, 10}), 1e-3);  // one row: posterior

  // Coronal: row 0 is superior; images run anterior -> posterior.
  auto coronal = SampleMprImage(v, *grid, MprPlane::kCoronal, 3, slices);
  ASSERT_TRUE(coronal.ok());
  ASSERT_EQ(coronal->size(), 12u * 10u);
  EXPECT_NEAR((*coronal)[0], Field({-50, -34, 10 + 9 * 3}), 1e-3);
  EXPECT_NEAR((*coronal)[12], Field({-50, -34, 10 + 8 * 3}), 1e-3);

  // Sagittal: columns anterior -> posterior, row 0 superior, images right -> left.
  auto sagittal = SampleMprImage(v, *grid, MprPlane::kSagittal, 5, slices);
  ASSERT_TRUE(sagittal.ok());
  EXPECT_NEAR((*sagittal)[1], Field({-40, -38, 37}), 1e-3);
  EXPECT_FALSE(SampleMprImage(v, *grid, MprPlane::kSagittal, 12, slices).ok());
}

TEST(MprTest, ObliqueVolumeSamplesTheFieldWhereverItCovers) {
  const double a = 30 * M_PI / 180;
  const V3 origin{5, -7, 20}, di{std::cos(a), std::sin(a), 0}, dj{-std::sin(a), std::cos(a), 0};
  const V3 dk{0, 0.3, 1.5};  // sheared, like a tilted gantry
  VolumePlan v = Volume(20, origin, di, dj, dk);
  Result<MprGrid> grid = MprGridFor(v);
  ASSERT_TRUE(grid.ok());
  SliceSource slices = FieldSlices(v, origin, di, dj, dk);
  int inside = 0;
  for (MprPlane plane : {MprPlane::kAxial, MprPlane::kCoronal, MprPlane::kSagittal}) {
    MprImageSize size = MprSizeOf(*grid, plane);
    auto image = SampleMprImage(v, *grid, plane, size.count / 2, slices);
    ASSERT_TRUE(image.ok());
    for (uint32_t r = 0; r < size.height; ++r) {
      for (uint32_t c = 0; c < size.width; ++c) {
        float value = (*image)[size_t{r} * size.width + c];
        if (std::isnan(value)) continue;
        ++inside;
        // Where the pixel is, from the documented conventions.
        std::array<double, 3> g{};
        int col = plane == MprPlane::kSagittal ? 1 : 0;
        int row = plane == MprPlane::kAxial ? 1 : 2;
        int idx = plane == MprPlane::kAxial ? 2 : plane == MprPlane::kCoronal ? 1 : 0;
        g[col] = c;
        g[row] = plane == MprPlane::kAxial ? r : size.height - 1 - r;
        g[idx] = size.count / 2;
        V3 p;
        for (int ax = 0; ax < 3; ++ax) p[ax] = grid->origin[ax] + grid->spacing[ax] * g[ax];
        ASSERT_NEAR(value, Field(p), 0.05) << "plane " << int(plane) << " r" << r << " c" << c;
      }
    }
  }
  EXPECT_GT(inside, 100);
}

TEST(MprTest, ModalityValuesApplyTheNiftiScaling) {
  VolumePlan v;
  v.nx = 2, v.ny = 1, v.nz = 1;
  v.voxel_type = SampleType::kInt16;
  v.scl_slope = 2, v.scl_inter = -1024;
  std::vector<uint8_t> voxels(4);
  int16_t raw[2] = {0, -3};
  std::memcpy(voxels.data(), raw, 4);
  auto values = ModalityValues(v, voxels);
  ASSERT_TRUE(values.ok());
  EXPECT_FLOAT_EQ((*values)[0], -1024.f);
  EXPECT_FLOAT_EQ((*values)[1], -1030.f);
  voxels.pop_back();
  EXPECT_FALSE(ModalityValues(v, voxels).ok());
}

}  // namespace
}  // namespace dcmfs
