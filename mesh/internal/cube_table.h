// The marching-cubes case table, generated at first use rather than typed in.
//
// Why generated: the classic 256-case tables (Lorensen & Cline 1987) leave
// cracks where two cubes resolve an ambiguous face differently. Here the
// triangles of a cube are derived from the face rule itself: on each cube
// face the crossings are joined by segments (on an ambiguous face -- two
// diagonal corners inside -- the inside corners are joined through the face
// when the face-centre average reaches the threshold, else they are cut
// apart). The segments of the six faces form closed loops around the inside
// region of the cube's surface; each loop is fan-triangulated. Two cubes that
// share a face compute the same segments for it, so the surface is closed and
// every edge is shared by exactly two triangles, with opposite directions.
//
// Corner c of a cube sits at (c & 1, (c >> 1) & 1, (c >> 2) & 1). Edge
// e = 4 * axis + u + 2 * v runs along `axis` from the corner whose offsets
// along the next two axes ((axis + 1) % 3, (axis + 2) % 3) are u and v.
#pragma once

#include <array>
#include <cstdint>

namespace dcmfs::mesh::internal {

// Corner code of a triangle: 0..11 the crossing point on that cube edge;
// kCentre + L the centre of the case's loop L, a point added inside the cube
// (the mean of the loop's crossing points) for the few loops that cannot be
// triangulated without a diagonal lying in a cube face (see cube_table.cc).
inline constexpr uint8_t kCentre = 12;

struct CubeCase {
  uint8_t triangle_count = 0;
  // Corner codes, three per triangle, wound counter-clockwise seen from the
  // outside (the side below the threshold) in a right-handed index frame.
  std::array<uint8_t, 36> edges{};
  uint8_t centre_count = 0;
  std::array<uint16_t, 4> centre_edges{};  // per centre: bit e for each edge of its loop
};

// The corners at the two ends of cube edge e (low end first).
std::array<int, 2> EdgeCorners(int e);

// Cube face f = 2 * axis + side; its corners in cyclic order.
std::array<uint8_t, 4> FaceCorners(int face);

struct CubeTable {
  // Indexed by corner_mask | (face_bits << 8): bit c of corner_mask says that
  // corner c is inside (value >= threshold); bit f of face_bits, used only on
  // ambiguous faces, says that the face's inside corners are connected.
  std::array<CubeCase, 256 * 64> cases;
  // Per corner mask: the faces that are ambiguous (bit f set).
  std::array<uint8_t, 256> ambiguous_faces;
};

// Built once, thread-safe (a function-local static).
const CubeTable& GetCubeTable();

}  // namespace dcmfs::mesh::internal
