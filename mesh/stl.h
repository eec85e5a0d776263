// Binary STL, the format slicers and 3D printers read.
//
// Layout (little-endian): an 80-byte header (ours says only "binary STL,
// DICOM patient LPS mm" -- nothing identifying), a uint32 triangle count,
// then per triangle a float32 unit normal, three float32 vertices and a
// uint16 attribute (0): exactly 84 + 50 * n bytes. Coordinates are written
// as given (DICOM LPS, mm, the convention 3D Slicer assumes for STL).
#pragma once

#include <cstdint>
#include <string>

#include "mesh/triangle_mesh.h"

namespace dcmfs::mesh {

constexpr uint64_t BinaryStlSize(uint64_t triangles) { return 84 + 50 * triangles; }

// The whole file. Normals are the right-hand normals of the triangles,
// normalised; a zero-area triangle gets (0, 0, 0).
std::string WriteBinaryStl(const TriangleMesh& mesh);

}  // namespace dcmfs::mesh
