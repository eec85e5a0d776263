// Binary STL, the format slicers and 3D printers read.
//
// Layout (little-endian): an 80-byte header (ours says only "binary STL,
// DICOM patient LPS mm" -- nothing identifying), a uint32 triangle count,
// then per triangle a float32 unit normal, three float32 vertices and a
// uint16 attribute (0): exactly 84 + 50 * n bytes. Coordinates are written
// as given (DICOM LPS, mm, the convention 3D Slicer assumes for STL).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "mesh/triangle_mesh.h"

namespace dcmfs::mesh {

constexpr uint64_t BinaryStlSize(uint64_t triangles) { return 84 + 50 * triangles; }

// The whole file. Normals are the right-hand normals of the triangles,
// normalised; a zero-area triangle gets (0, 0, 0).
std::string WriteBinaryStl(const TriangleMesh& mesh);

// Bytes [offset, offset + out.size()) of that file, made on the fly, so a
// large mesh can be served without holding its STL (50 bytes a triangle,
// about twice the mesh). Returns the count written: short at the end of the
// file, 0 past it. Thread-safe on a mesh nobody modifies.
size_t ReadBinaryStl(const TriangleMesh& mesh, uint64_t offset, std::span<uint8_t> out);

}  // namespace dcmfs::mesh
