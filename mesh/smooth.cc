#include "mesh/smooth.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace dcmfs::mesh {
namespace {

// One-ring neighbours of every vertex, compressed (CSR).
struct Adjacency {
  std::vector<uint32_t> start;  // vertices + 1
  std::vector<uint32_t> neighbours;
};

Adjacency BuildAdjacency(const TriangleMesh& mesh) {
  const size_t n = mesh.vertices.size();
  Adjacency adj;
  adj.start.assign(n + 1, 0);
  // Each undirected edge is seen from both of its triangles; count both
  // directions of every triangle edge, then remove duplicates per vertex.
  for (const Triangle& t : mesh.triangles) {
    for (int i = 0; i < 3; ++i) ++adj.start[t[i] + 1], ++adj.start[t[(i + 1) % 3] + 1];
  }
  for (size_t v = 0; v < n; ++v) adj.start[v + 1] += adj.start[v];
  adj.neighbours.resize(adj.start[n]);
  std::vector<uint32_t> fill(adj.start.begin(), adj.start.end() - 1);
  for (const Triangle& t : mesh.triangles) {
    for (int i = 0; i < 3; ++i) {
      const uint32_t a = t[i], b = t[(i + 1) % 3];
      adj.neighbours[fill[a]++] = b;
      adj.neighbours[fill[b]++] = a;
    }
  }
  Adjacency out;
  out.start.assign(n + 1, 0);
  out.neighbours.reserve(adj.neighbours.size() / 2);
  for (size_t v = 0; v < n; ++v) {
    auto first = adj.neighbours.begin() + adj.start[v];
    auto last = adj.neighbours.begin() + adj.start[v + 1];
    std::sort(first, last);
    last = std::unique(first, last);
    out.neighbours.insert(out.neighbours.end(), first, last);
    out.start[v + 1] = uint32_t(out.neighbours.size());
  }
  return out;
}

void Step(const Adjacency& adj, const std::vector<Vec3f>& in, std::vector<Vec3f>& out,
          double factor, size_t begin, size_t end) {
  for (size_t v = begin; v < end; ++v) {
    const uint32_t a = adj.start[v], b = adj.start[v + 1];
    if (a == b) {
      out[v] = in[v];
      continue;
    }
    double mean[3] = {0, 0, 0};
    for (uint32_t e = a; e < b; ++e) {
      const Vec3f& p = in[adj.neighbours[e]];
      mean[0] += p[0], mean[1] += p[1], mean[2] += p[2];
    }
    const double inv = 1.0 / (b - a);
    for (int c = 0; c < 3; ++c) {
      out[v][c] = float(in[v][c] + factor * (mean[c] * inv - in[v][c]));
    }
  }
}

}  // namespace

void TaubinSmooth(TriangleMesh& mesh, const TaubinOptions& options) {
  const Adjacency adj = BuildAdjacency(mesh);
  const size_t n = mesh.vertices.size();
  int threads = options.threads > 0 ? options.threads : int(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, int(std::max<size_t>(1, n / 65536)));
  std::vector<Vec3f> other(n);
  auto parallel_step = [&](const std::vector<Vec3f>& in, std::vector<Vec3f>& out, double f) {
    std::vector<std::thread> pool;
    const size_t chunk = (n + threads - 1) / threads;
    for (int t = 1; t < threads; ++t) {
      pool.emplace_back(Step, std::cref(adj), std::cref(in), std::ref(out), f,
                        std::min(n, t * chunk), std::min(n, (t + 1) * chunk));
    }
    Step(adj, in, out, f, 0, std::min(n, chunk));
    for (std::thread& th : pool) th.join();
  };
  for (int it = 0; it < options.iterations; ++it) {
    parallel_step(mesh.vertices, other, options.lambda);
    parallel_step(other, mesh.vertices, options.mu);
  }
}

}  // namespace dcmfs::mesh
