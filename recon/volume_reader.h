// VolumeReader: the bytes of one planned volume's .nii file at any offset,
// produced from the slices that hold them, so a volume bigger than RAM
// streams with bounded memory.
//
// Decoded source frames come from a FrameSource the caller supplies (the fs
// layer reads the blob; tests hand out synthetic frames). They are kept in
// a bounded LRU shared by all readers of this object (a mosaic frame is
// decoded once for all its tiles). Thread-safe: ReadAt and Slice may run
// concurrently; a frame wanted by several readers at once is decoded once.
//
// Usage (mesh/, MPR, previews):
//   VolumeReader reader(plan, 0, source, {});
//   auto slice = reader.Slice(z, t);   // nx*ny voxels of the NIfTI type,
//                                      // i fastest, rows already reversed
//   float hu = reader.plan().apply_rescale ? v : v * scl_slope + scl_inter;
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/lru.h"
#include "base/status.h"
#include "codecs/pixel_decode.h"
#include "recon/volume_plan.h"

namespace dcmfs {

// Decodes frame `frame` (0-based) of the instance with plan key `key`.
// Must be thread-safe.
using FrameSource =
    std::function<Result<DecodedFrame>(const std::string& key, uint32_t frame)>;

// Decodes only source rows [first_row, first_row + rows) of frame `frame`
// (a DecodedFrame of that many rows), or nullopt when the source cannot do
// it for less than the whole frame (compressed data). Must be thread-safe.
using RowSource = std::function<Result<std::optional<DecodedFrame>>(
    const std::string& key, uint32_t frame, uint32_t first_row, uint32_t rows)>;

struct VolumeReaderOptions {
  // Bound on decoded frames kept in memory (bytes).
  uint64_t cache_bytes = 64ull << 20;
  // Sequential reads decode up to this many following slices ahead on
  // background threads (at most this many at once); 0: no read-ahead.
  uint32_t prefetch_slices = 4;
  // When set, a read that needs a few rows of a slice whose frame is neither
  // cached nor being decoded takes just those rows: the neighbour slice a
  // page-aligned or read-ahead request grazes (the 352-byte NIfTI header
  // puts every slice boundary mid-page) then costs its rows, not the slice,
  // which over S3 is the difference between ~1x and ~3x the bytes fetched.
  RowSource rows;
  // Readers that go through the volume in order (a sequential ReadAt, Slice
  // called for z after z - 1) hint the source's storage this many slices
  // ahead of them through `warm` (called with a plan key, once per slice), so
  // the blob reads of the decodes to come do not wait on the disk one by one.
  // Bounded by the storage's own read-ahead (the page cache); 0 or no
  // `warm`: no hints. Must be thread-safe and quick.
  uint32_t warm_slices = 0;
  std::function<void(const std::string& key)> warm;
};

class VolumeReader {
 public:
  // `volume` indexes plan->volumes (CHECKed).
  VolumeReader(std::shared_ptr<const SeriesPlan> plan, size_t volume, FrameSource source,
               VolumeReaderOptions options);
  // Waits for read-ahead threads.
  ~VolumeReader();
  VolumeReader(const VolumeReader&) = delete;
  VolumeReader& operator=(const VolumeReader&) = delete;

  const VolumePlan& plan() const { return plan_->volumes[volume_]; }
  // Size of the whole .nii file (header included).
  uint64_t size() const;
  // Reads up to out.size() bytes of the .nii file at `offset`; returns the
  // count (0 at or past the end). Errors of the frame source pass through;
  // DataLoss when a decoded frame does not match the plan (matrix, type).
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const;
  // One slice's voxels (slice index z + t * nz), as written in the file.
  Result<std::vector<uint8_t>> Slice(uint32_t z, uint32_t t = 0) const;

 private:
  using Frame = std::shared_ptr<const DecodedFrame>;
  struct Flight;
  Result<Frame> GetFrame(uint32_t instance, uint32_t frame) const;
  // Writes voxels [first, first + count) of slice `index` into out.
  Status FillSlice(uint32_t index, uint64_t first, uint64_t count, uint8_t* out) const;
  // The same for source slice `s` of `rows` rows (the plan's, or a
  // resampled volume's source).
  Status FillSource(const PlannedSlice& s, uint32_t rows, uint64_t first, uint64_t count,
                    uint8_t* out) const;
  // A slice of a resampled ("_Tilt"/"_Eq") volume (recon/internal/resample.h).
  Status FillResampled(uint32_t index, uint64_t first, uint64_t count, uint8_t* out) const;
  // Voxels [first, first + count) of source slice `s` (`rows` rows) from
  // `f`: the whole frame, or source rows from *rows_from on.
  Status CopyVoxels(const DecodedFrame& f, std::optional<uint32_t> rows_from,
                    const PlannedSlice& s, uint32_t rows, uint64_t first, uint64_t count,
                    uint8_t* out) const;
  // Just the rows voxels [first, first + count) need, when options.rows can
  // give them and the frame is neither cached nor in flight; else nullopt.
  Result<std::optional<DecodedFrame>> PartialRows(const PlannedSlice& s, uint32_t rows,
                                                  uint64_t first, uint64_t count,
                                                  uint32_t* base_row) const;
  // Queues slices (first, last] -- and when `sequential` the next
  // prefetch_slices_ after them -- that are neither cached nor being
  // decoded, for detached worker threads counted in prefetching_.
  void Prefetch(uint32_t first, uint32_t last, bool sequential) const;
  // Hints options.warm for slices (from, from + warm_slices_] not hinted yet.
  void Warm(uint32_t from) const;

  const std::shared_ptr<const SeriesPlan> plan_;
  const size_t volume_;
  const FrameSource source_;
  const std::string header_;
  const uint32_t prefetch_slices_;
  const RowSource rows_;
  const uint32_t warm_slices_;
  const std::function<void(const std::string&)> warm_;

  mutable std::mutex mu_;  // leaf; never held while decoding
  mutable std::condition_variable done_;
  mutable LruCache<uint64_t, Frame> frames_;                    // GUARDED_BY(mu_)
  mutable std::map<uint64_t, std::shared_ptr<Flight>> flights_;  // GUARDED_BY(mu_)
  mutable std::deque<uint64_t> queue_;     // GUARDED_BY(mu_); frames to read ahead
  mutable uint32_t prefetching_ = 0;       // GUARDED_BY(mu_); read-ahead workers running
  mutable std::vector<uint8_t> warmed_;    // GUARDED_BY(mu_); per slice: hinted
  mutable std::vector<uint8_t> sliced_;    // GUARDED_BY(mu_); per slice: asked of Slice()
  mutable std::atomic<uint64_t> last_end_{0};  // where the latest ReadAt ended (file offset)
  mutable std::atomic<uint64_t> run_start_{0};  // where the current run of following reads began
  mutable std::optional<double> darkest_;  // GUARDED_BY(mu_); resampled volumes' fill without padding
  // GUARDED_BY(mu_); resampled volumes' tilt-corrected source slices, by index.
  mutable LruCache<uint32_t, std::shared_ptr<const std::vector<uint8_t>>> prepared_;
};

}  // namespace dcmfs
