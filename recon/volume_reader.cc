// VolumeReader: maps a byte range of the .nii to (slice, voxel range),
// decodes (or finds in the LRU) the source frame, and converts voxels row
// by row: rows reversed (dcm2niix's order), mosaic tiles cut out, uint16
// written as int16 when the plan says so, rescale applied for float32.
#include "recon/volume_reader.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "recon/internal/resample.h"
#include "recon/nifti.h"

namespace dcmfs {
namespace {

constexpr uint64_t kSequentialBytes = 2u << 20;
// Prepared source slices a resampled volume keeps (a written slice needs
// two; a few more serve concurrent and read-ahead readers).
constexpr uint64_t kPreparedSlices = 6;
constexpr uint64_t kFirstSequentialRead = 64u << 10;

template <typename In, typename Out>
void ConvertRow(const uint8_t* src, size_t n, const VolumePlan& v, const PlannedSlice& s,
                uint8_t* dst) {
  for (size_t i = 0; i < n; ++i) {
    In in;
    std::memcpy(&in, src + i * sizeof(In), sizeof(In));
    Out out = v.apply_rescale ? static_cast<Out>(in * s.slope + s.intercept) : static_cast<Out>(in);
    std::memcpy(dst + i * sizeof(Out), &out, sizeof(Out));
  }
}

template <typename In>
void ConvertRowFrom(const uint8_t* src, size_t n, const VolumePlan& v, const PlannedSlice& s,
                    uint8_t* dst) {
  switch (v.voxel_type) {
    case SampleType::kFloat32: return ConvertRow<In, float>(src, n, v, s, dst);
    case SampleType::kInt16: return ConvertRow<In, int16_t>(src, n, v, s, dst);
    case SampleType::kUint16: return ConvertRow<In, uint16_t>(src, n, v, s, dst);
    case SampleType::kInt32: return ConvertRow<In, int32_t>(src, n, v, s, dst);
    case SampleType::kUint32: return ConvertRow<In, uint32_t>(src, n, v, s, dst);
    case SampleType::kInt8: return ConvertRow<In, int8_t>(src, n, v, s, dst);
    case SampleType::kUint8: return ConvertRow<In, uint8_t>(src, n, v, s, dst);
  }
}

// Converts n voxels of one row (monochrome) from the decoded type.
void Convert(const uint8_t* src, size_t n, const VolumePlan& v, const PlannedSlice& s,
             uint8_t* dst) {
  // Integers of one width without rescale convert bit for bit (C++20
  // integral conversion is modulo 2^N): uint16 stored values written as
  // int16, the common CT case, are a plain copy.
  const bool same_type = v.source_type == v.voxel_type && !v.apply_rescale;
  const bool same_width_integers = !v.apply_rescale && v.source_type != SampleType::kFloat32 &&
                                   v.voxel_type != SampleType::kFloat32 &&
                                   SampleBytes(v.source_type) == SampleBytes(v.voxel_type);
  if (v.samples == 3 || same_type || same_width_integers) {
    std::memcpy(dst, src, n * VoxelBytes(v));
    return;
  }
  switch (v.source_type) {
    case SampleType::kUint8: return ConvertRowFrom<uint8_t>(src, n, v, s, dst);
    case SampleType::kInt8: return ConvertRowFrom<int8_t>(src, n, v, s, dst);
    case SampleType::kUint16: return ConvertRowFrom<uint16_t>(src, n, v, s, dst);
    case SampleType::kInt16: return ConvertRowFrom<int16_t>(src, n, v, s, dst);
    case SampleType::kUint32: return ConvertRowFrom<uint32_t>(src, n, v, s, dst);
    case SampleType::kInt32: return ConvertRowFrom<int32_t>(src, n, v, s, dst);
    case SampleType::kFloat32: return ConvertRowFrom<float>(src, n, v, s, dst);
  }
}

}  // namespace

struct VolumeReader::Flight {
  bool done = false;
  Result<Frame> result = Status::Internal("frame decode in progress");
};

VolumeReader::VolumeReader(std::shared_ptr<const SeriesPlan> plan, size_t volume,
                           FrameSource source, VolumeReaderOptions options)
    : plan_(std::move(plan)),
      volume_(volume),
      source_(std::move(source)),
      header_(NiftiHeader(plan_->volumes.at(volume_))),
      prefetch_slices_(options.prefetch_slices),
      rows_(std::move(options.rows)),
      warm_slices_(options.warm ? options.warm_slices : 0),
      warm_(std::move(options.warm)),
      frames_(options.cache_bytes),
      warmed_(warm_slices_ > 0 ? plan_->volumes[volume_].slices.size() : 0),
      sliced_(warm_slices_ > 0 ? plan_->volumes[volume_].slices.size() : 0),
      prepared_(kPreparedSlices * NiftiSliceBytes(plan_->volumes.at(volume_)) + 1024) {}

void VolumeReader::Warm(uint32_t from) const {
  if (warm_slices_ == 0) return;
  const VolumePlan& v = plan();
  std::vector<uint32_t> instances;
  {
    std::lock_guard lock(mu_);
    const uint64_t end = std::min<uint64_t>(v.slices.size(), uint64_t{from} + 1 + warm_slices_);
    for (uint64_t i = uint64_t{from} + 1; i < end; ++i) {
      if (warmed_[i]) continue;
      warmed_[i] = 1;
      // Frames of one multi-frame instance are neighbours: one hint each.
      if (instances.empty() || instances.back() != v.slices[i].instance) {
        instances.push_back(v.slices[i].instance);
      }
    }
  }
  for (uint32_t instance : instances) warm_(plan_->keys[instance]);
}

VolumeReader::~VolumeReader() {
  std::unique_lock lock(mu_);
  queue_.clear();
  done_.wait(lock, [&] { return prefetching_ == 0; });
}

void VolumeReader::Prefetch(uint32_t first, uint32_t last, bool sequential) const {
  const VolumePlan& v = plan();
  const uint64_t end = std::min<uint64_t>(v.slices.size() - 1,
                                          uint64_t{last} + (sequential ? prefetch_slices_ : 0));
  const size_t cap = prefetch_slices_ + (last - first);
  uint32_t start = 0;
  {
    std::lock_guard lock(mu_);
    for (uint64_t i = uint64_t{first} + 1; i <= end && queue_.size() < cap; ++i) {
      const uint64_t key = uint64_t{v.slices[i].instance} << 32 | v.slices[i].frame;
      if (frames_.Get(key) || flights_.count(key) ||
          std::find(queue_.begin(), queue_.end(), key) != queue_.end()) {
        continue;
      }
      queue_.push_back(key);
    }
    // Workers drain the queue and exit when it is empty: a sequential read
    // keeps them (and their scratch buffers) alive from slice to slice
    // instead of starting a thread per slice; an idle reader holds none.
    const size_t wanted = std::min<size_t>(queue_.size(), prefetch_slices_);
    if (wanted > prefetching_) start = static_cast<uint32_t>(wanted - prefetching_);
    prefetching_ += start;
  }
  // Read-ahead: the next slices decode while the caller copies this one
  // (a cold `cat series.nii` is otherwise one decode at a time).
  for (uint32_t w = 0; w < start; ++w) {
    std::thread([this] {
      std::unique_lock lock(mu_);
      while (!queue_.empty()) {
        const uint64_t key = queue_.front();
        queue_.pop_front();
        lock.unlock();
        // Errors surface to the reader that needs the slice.
        (void)GetFrame(static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key));
        lock.lock();
      }
      --prefetching_;
      done_.notify_all();
    }).detach();
  }
}

uint64_t VolumeReader::size() const { return NiftiFileSize(plan()); }

Result<VolumeReader::Frame> VolumeReader::GetFrame(uint32_t instance, uint32_t frame) const {
  const uint64_t key = uint64_t{instance} << 32 | frame;
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(mu_);
    if (auto hit = frames_.Get(key)) return *hit;
    auto it = flights_.find(key);
    if (it != flights_.end()) {
      flight = it->second;
      done_.wait(lock, [&] { return flight->done; });
      return flight->result;
    }
    flight = std::make_shared<Flight>();
    flights_[key] = flight;
  }
  Result<DecodedFrame> decoded = source_(plan_->keys[instance], frame);
  Result<Frame> result = decoded.ok()
                             ? Result<Frame>(std::make_shared<const DecodedFrame>(std::move(*decoded)))
                             : Result<Frame>(decoded.status());
  std::lock_guard lock(mu_);
  if (result.ok()) frames_.Put(key, *result, (*result)->data.size() + 256);
  flight->result = result;
  flight->done = true;
  flights_.erase(key);
  done_.notify_all();
  return result;
}

Status VolumeReader::FillSlice(uint32_t index, uint64_t first, uint64_t count,
                               uint8_t* out) const {
  const VolumePlan& v = plan();
  if (v.resampling) return FillResampled(index, first, count, out);
  return FillSource(v.slices[index], v.ny, first, count, out);
}

Status VolumeReader::FillResampled(uint32_t index, uint64_t first, uint64_t count,
                                   uint8_t* out) const {
  const VolumePlan& v = plan();
  const Resampling& rs = *v.resampling;
  const uint64_t voxels = uint64_t{v.nx} * rs.source_rows;
  auto source = [&](uint32_t k) -> Result<std::vector<uint8_t>> {
    std::vector<uint8_t> bytes(voxels * VoxelBytes(v));
    RETURN_IF_ERROR(FillSource(rs.sources.at(k), rs.source_rows, 0, voxels, bytes.data()));
    return bytes;
  };
  double fill = 0;
  if (!rs.row_shift.empty() && !rs.padding) {
    std::optional<double> darkest;
    {
      std::lock_guard lock(mu_);
      darkest = darkest_;
    }
    if (!darkest) {  // computed without mu_ (it decodes); a race computes it twice, alike
      ASSIGN_OR_RETURN(double d, recon_internal::DarkestVoxel(v, source));
      std::lock_guard lock(mu_);
      darkest_ = darkest = d;
    }
    fill = *darkest;
  }
  // Consecutive written slices share source slices, and the kernel asks for
  // a slice in several reads: prepared (tilt-corrected) sources are kept.
  auto prepared = [&](uint32_t k) -> Result<std::shared_ptr<const std::vector<uint8_t>>> {
    {
      std::lock_guard lock(mu_);
      if (auto hit = prepared_.Get(k)) return *hit;
    }
    ASSIGN_OR_RETURN(std::vector<uint8_t> raw, source(k));
    ASSIGN_OR_RETURN(std::vector<uint8_t> ready,
                     recon_internal::PrepareSource(v, k, std::move(raw), fill));
    auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(ready));
    std::lock_guard lock(mu_);
    prepared_.Put(k, shared, shared->size() + 64);
    return shared;
  };
  return recon_internal::ResampleSlice(v, index, first, count, prepared, out);
}

Result<std::optional<DecodedFrame>> VolumeReader::PartialRows(const PlannedSlice& s, uint32_t rows,
                                                              uint64_t first, uint64_t count,
                                                              uint32_t* base_row) const {
  const VolumePlan& v = plan();
  // Less than a quarter of a plain (not mosaic) slice; a bigger piece is
  // likely followed by the rest, which then shares one whole-frame decode.
  if (!rows_ || v.mosaic_cols > 0 || count == 0 || count * 4 > uint64_t{v.nx} * rows) {
    return std::optional<DecodedFrame>();
  }
  {
    std::lock_guard lock(mu_);
    const uint64_t key = uint64_t{s.instance} << 32 | s.frame;
    if (frames_.Get(key) || flights_.count(key)) return std::optional<DecodedFrame>();
  }
  // NIfTI rows run bottom-up: NIfTI row y is source row rows - 1 - y.
  const uint64_t y0 = first / v.nx, y1 = (first + count - 1) / v.nx;
  *base_row = static_cast<uint32_t>(rows - 1 - y1);
  return rows_(plan_->keys[s.instance], s.frame, *base_row, static_cast<uint32_t>(y1 - y0 + 1));
}

Status VolumeReader::FillSource(const PlannedSlice& s, uint32_t rows, uint64_t first,
                                uint64_t count, uint8_t* out) const {
  uint32_t base_row = 0;
  ASSIGN_OR_RETURN(std::optional<DecodedFrame> part, PartialRows(s, rows, first, count, &base_row));
  if (part) return CopyVoxels(*part, base_row, s, rows, first, count, out);
  ASSIGN_OR_RETURN(Frame f, GetFrame(s.instance, s.frame));
  return CopyVoxels(*f, std::nullopt, s, rows, first, count, out);
}

Status VolumeReader::CopyVoxels(const DecodedFrame& f, std::optional<uint32_t> rows_from,
                                const PlannedSlice& s, uint32_t rows, uint64_t first,
                                uint64_t count, uint8_t* out) const {
  const bool partial = rows_from.has_value();
  const uint32_t base_row = rows_from.value_or(0);
  const VolumePlan& v = plan();
  const PixelFormat& fmt = f.format;
  const size_t in_bytes = v.samples == 3 ? 3 : SampleBytes(v.source_type);
  const uint32_t tile_cols = v.mosaic_cols > 0 ? v.mosaic_cols : 1;
  const uint64_t col0 = uint64_t{s.tile % tile_cols} * v.nx;
  const uint64_t row0 = uint64_t{s.tile / tile_cols} * rows;
  // The source rows this piece needs must lie in the frame's rows.
  const uint64_t need_lo = row0 + (rows - 1 - (first + count - 1) / v.nx);
  const uint64_t need_hi = row0 + (rows - 1 - first / v.nx);
  if (fmt.samples != v.samples || (v.samples == 1 && fmt.type != v.source_type) ||
      fmt.columns < col0 + v.nx || need_lo < base_row || need_hi >= base_row + uint64_t{fmt.rows} ||
      (!partial && fmt.rows < row0 + rows) ||
      f.data.size() < uint64_t{fmt.rows} * fmt.columns * in_bytes) {
    return Status::DataLoss("decoded frame " + std::to_string(s.frame) + " of " +
                            plan_->keys[s.instance] + " does not match the planned volume");
  }
  const size_t out_bytes = VoxelBytes(v);
  uint64_t voxel = first;
  const uint64_t end = first + count;
  while (voxel < end) {
    const uint64_t y = voxel / v.nx, x = voxel % v.nx;
    const uint64_t n = std::min<uint64_t>(v.nx - x, end - voxel);
    const uint64_t src_row = row0 + (rows - 1 - y) - base_row;  // rows reversed
    const uint8_t* src = f.data.data() + (src_row * fmt.columns + col0 + x) * in_bytes;
    Convert(src, n, v, s, out + (voxel - first) * out_bytes);
    voxel += n;
  }
  return Status::Ok();
}

Result<size_t> VolumeReader::ReadAt(uint64_t offset, std::span<uint8_t> out) const {
  const uint64_t total = size();
  if (offset >= total || out.empty()) return size_t{0};
  const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), total - offset));
  size_t done = 0;
  if (offset < kNiftiHeaderBytes) {
    const size_t n = std::min<size_t>(want, kNiftiHeaderBytes - offset);
    std::memcpy(out.data(), header_.data() + offset, n);
    done = n;
  }
  const VolumePlan& v = plan();
  const uint64_t vb = VoxelBytes(v);
  const uint64_t slice_bytes = NiftiSliceBytes(v);
  // The other slices this read covers decode on the workers while this
  // thread does the first. A sequential reader -- one reading from the
  // start, or whose reads have followed on for more than kSequentialBytes --
  // also gets the next slices decoded ahead. The kernel cuts every read into
  // 128 KiB requests (its FUSE read-ahead size), delivered slightly out of
  // order, so "follows on" allows a window, and one random 1 MiB read is
  // eight requests in a row: too short a run to count as sequential. Random
  // reads get no read-ahead: decoding slices nobody asked for only slows them.
  if (prefetch_slices_ > 0 && done < want) {
    const uint64_t pos = offset + done - kNiftiHeaderBytes;
    const uint64_t prev = last_end_.exchange(offset + want);
    const uint64_t window = 4 * std::max<uint64_t>(slice_bytes, want);
    const bool follows = offset + window >= prev && offset <= prev + window;
    if (!follows) run_start_.store(offset);
    const uint64_t run_start = run_start_.load();
    // From offset 0 only a read of a slice or 64 KiB counts: a 352-byte
    // header read arrives as the kernel's 16 KiB read-ahead, and decoding
    // four 512 KiB slices for it fetched megabytes from S3 for a viewer
    // that wanted the header.
    const bool sequential =
        (offset == 0 && want >= std::min(kFirstSequentialRead, kNiftiHeaderBytes + slice_bytes)) || (offset + want > run_start &&
                        offset + want - run_start > std::max(kSequentialBytes, 2 * slice_bytes));
    const uint32_t last = static_cast<uint32_t>((pos + (want - done) - 1) / slice_bytes);
    Prefetch(static_cast<uint32_t>(pos / slice_bytes), last, sequential);
    if (sequential) Warm(last);
  }
  // Voxels are whole-byte units; a read may start or end inside a voxel.
  std::vector<uint8_t> scratch;
  while (done < want) {
    const uint64_t pos = offset + done - kNiftiHeaderBytes;
    const uint32_t slice = static_cast<uint32_t>(pos / slice_bytes);
    const uint64_t in_slice = pos % slice_bytes;
    const uint64_t bytes = std::min<uint64_t>(want - done, slice_bytes - in_slice);
    const uint64_t v0 = in_slice / vb, v1 = (in_slice + bytes + vb - 1) / vb;
    if (in_slice % vb == 0 && bytes % vb == 0) {
      RETURN_IF_ERROR(FillSlice(slice, v0, v1 - v0, out.data() + done));
    } else {
      scratch.resize((v1 - v0) * vb);
      RETURN_IF_ERROR(FillSlice(slice, v0, v1 - v0, scratch.data()));
      std::memcpy(out.data() + done, scratch.data() + in_slice % vb, bytes);
    }
    done += bytes;
  }
  return done;
}

Result<std::vector<uint8_t>> VolumeReader::Slice(uint32_t z, uint32_t t) const {
  const VolumePlan& v = plan();
  if (z >= v.nz || t >= v.nt) return Status::InvalidArgument("slice index out of range");
  const uint32_t index = z + t * v.nz;
  if (warm_slices_ > 0) {
    // Ahead of readers walking the slices in order (mesh slabs, reformats);
    // a single slice (a preview) hints nothing.
    bool in_order = false;
    {
      std::lock_guard lock(mu_);
      sliced_[index] = 1;
      in_order = index > 0 && sliced_[index - 1];
    }
    if (in_order) Warm(index);
  }
  std::vector<uint8_t> out(NiftiSliceBytes(v));
  RETURN_IF_ERROR(FillSlice(index, 0, uint64_t{v.nx} * v.ny, out.data()));
  return out;
}

}  // namespace dcmfs
