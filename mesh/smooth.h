// Taubin smoothing: removes the marching-cubes staircase without shrinking.
//
// G. Taubin, "A signal processing approach to fair surface design",
// SIGGRAPH 1995. Each iteration applies two uniform-Laplacian steps,
//   v += lambda * L(v)   then   v += mu * L(v),   L(v) = mean(neighbours) - v,
// with lambda > 0 > mu and |mu| slightly larger than lambda: a low-pass
// filter with pass-band frequency k_pb = 1/lambda + 1/mu (0.1 for the
// defaults), so the volume is kept where plain Laplacian smoothing shrinks it.
// Connectivity (and therefore closedness and winding) is unchanged.
#pragma once

#include "mesh/triangle_mesh.h"

namespace dcmfs::mesh {

struct TaubinOptions {
  double lambda = 0.5;
  double mu = -0.53;
  int iterations = 10;  // each is one lambda step and one mu step
  int threads = 0;      // 0: std::thread::hardware_concurrency()
};

// Smooths `mesh` in place. Vertices with no neighbours stay where they are.
void TaubinSmooth(TriangleMesh& mesh, const TaubinOptions& options = {});

}  // namespace dcmfs::mesh
