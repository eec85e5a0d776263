#include "fs/derived/volume_providers.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "base/log.h"
#include "codecs/image_header.h"
#include "codecs/image_header_record.h"
#include "codecs/pixel_decode.h"
#include "codecs/sha256.h"
#include "fs/derived/derived_files.h"
#include "recon/nifti.h"

namespace dcmfs {
namespace {

constexpr uint64_t kFirstPrefix = 64 * 1024;
constexpr size_t kPlanReadThreads = 16;
constexpr char kNiftiStem[] = "series";
constexpr uint32_t kWarmSlices = 32;
// Bytes before and after a native frame that may be read with it (a whole
// small file) rather than reading the frame's range alone.
constexpr uint64_t kWholeFileSlack = 64 * 1024;

// The header of one instance from the shortest prefix that reaches Pixel
// Data (most files: one 64 KiB read).
Result<ImageHeader> ReadHeader(const BlobStore& blobs, const Digest& digest) {
  ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> reader, blobs.Open(digest));
  const uint64_t size = reader->size();
  std::vector<uint8_t> prefix(std::min(size, kFirstPrefix));
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, reader->ReadOnce(0, prefix));
    if (got != prefix.size()) return Status::DataLoss("blob shorter than its size");
    ASSIGN_OR_RETURN(ImageHeaderOrMore r, ParseImageHeader(prefix, size));
    if (r.header) return std::move(*r.header);
    if (r.need_bytes <= prefix.size()) return Status::Internal("header parse made no progress");
    prefix.resize(r.need_bytes);
  }
}

// The plan content keeps the parsed plan beside its bytes, so readers of
// the in-memory copy do not parse the JSON again.
class PlanContent final : public DerivedContent {
 public:
  explicit PlanContent(std::shared_ptr<const SeriesPlan> plan)
      : plan_(std::move(plan)), bytes_(SerializePlan(*plan_)) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    return StringContent(bytes_).ReadAt(offset, out);
  }
  const std::shared_ptr<const SeriesPlan>& plan() const { return plan_; }

 private:
  std::shared_ptr<const SeriesPlan> plan_;
  std::string bytes_;
};

class NiftiContent final : public DerivedContent {
 public:
  explicit NiftiContent(std::shared_ptr<VolumeReader> reader) : reader_(std::move(reader)) {}
  uint64_t size() const override { return reader_->size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    return reader_->ReadAt(offset, out);
  }
  // The reader's frame LRU is bounded separately; count it so the derived
  // files' LRU drops idle readers (and their frames).
  uint64_t memory_bytes() const override { return kReaderCacheBytes; }
  static constexpr uint64_t kReaderCacheBytes = 32ull << 20;

 private:
  std::shared_ptr<VolumeReader> reader_;
};

// "series_e2.nii" -> "_e2" when the plan has that volume.
std::optional<size_t> VolumeIndex(const SeriesPlan& plan, std::string_view name,
                                  std::string_view ext) {
  const std::string stem = kNiftiStem;
  if (name.size() < stem.size() + ext.size() || name.substr(0, stem.size()) != stem ||
      name.substr(name.size() - ext.size()) != ext) {
    return std::nullopt;
  }
  const std::string_view suffix = name.substr(stem.size(), name.size() - stem.size() - ext.size());
  for (size_t i = 0; i < plan.volumes.size(); ++i) {
    if (plan.volumes[i].suffix == suffix) return i;
  }
  return std::nullopt;
}

std::vector<std::string> VolumeNames(const SeriesContext& ctx, std::string_view ext) {
  auto plan = SeriesPlanFor(ctx);
  if (!plan.ok()) return {};
  std::vector<std::string> out;
  for (const VolumePlan& v : (*plan)->volumes) out.push_back(kNiftiStem + v.suffix + std::string(ext));
  return out;
}

// A name looked up before the plan exists (e.g. `cat series.nii` first)
// needs the plan to be matched; series without volumes match nothing.
std::optional<std::string> MatchVolume(const SeriesContext& ctx, std::string_view name,
                                       std::string_view ext) {
  if (name.rfind(kNiftiStem, 0) != 0 || name.size() < ext.size() ||
      name.substr(name.size() - ext.size()) != ext || name.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  auto plan = SeriesPlanFor(ctx);
  if (!plan.ok()) return std::nullopt;
  auto index = VolumeIndex(**plan, name, ext);
  if (!index) return std::nullopt;
  return (*plan)->volumes[*index].suffix.empty() ? std::string("-") : (*plan)->volumes[*index].suffix;
}

std::optional<size_t> IndexFromParams(const SeriesPlan& plan, std::string_view params) {
  const std::string_view suffix = params == "-" ? std::string_view() : params;
  for (size_t i = 0; i < plan.volumes.size(); ++i) {
    if (plan.volumes[i].suffix == suffix) return i;
  }
  return std::nullopt;
}

// Fills headers[i] for each of `digests` (sorted) that the catalog holds a
// decodable header record of (recorded at ingest): no blob is read for those.
Status RecordedHeaders(const SeriesContext& ctx,
                       const std::vector<std::pair<Digest, bool>>& digests,
                       std::vector<std::optional<ImageHeader>>& headers) {
  return ctx.catalog->ForEachImageHeaderInSeries(
      ctx.series.uid, [&](const Digest& digest, std::string_view record) {
        auto it = std::lower_bound(digests.begin(), digests.end(), std::make_pair(digest, false));
        if (it == digests.end() || it->first != digest) return true;  // not an image instance
        Result<ImageHeader> header = DecodeImageHeader(record);
        if (header.ok()) {
          headers[it - digests.begin()] = std::move(*header);
        } else {
          DCMFS_LOG(Warning) << "volume plan: " << ToHex(digest) << ": "
                             << header.status().ToString() << " (reading the blob instead)";
        }
        return true;
      });
}

}  // namespace

Result<std::shared_ptr<const SeriesPlan>> SeriesPlanFor(const SeriesContext& ctx) {
  if (ctx.derived == nullptr) return Status::Internal("volume plan: no derived-file registry");
  ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content,
                   ctx.derived->GetByKind(ctx, kVolumePlanKind, ""));
  if (auto* p = dynamic_cast<const PlanContent*>(content.get())) return p->plan();
  // From the persistent cache: bytes only.
  std::string bytes(content->size(), '\0');
  ASSIGN_OR_RETURN(size_t n, content->ReadAt(0, std::span<uint8_t>(
                                                    reinterpret_cast<uint8_t*>(bytes.data()),
                                                    bytes.size())));
  bytes.resize(n);
  ASSIGN_OR_RETURN(SeriesPlan plan, DeserializePlan(bytes));
  return std::shared_ptr<const SeriesPlan>(std::make_shared<SeriesPlan>(std::move(plan)));
}

FrameSource BlobFrameSource(const BlobStore* blobs, std::shared_ptr<const SeriesPlan> plan) {
  auto index = std::make_shared<std::map<std::string, size_t>>();
  for (size_t i = 0; i < plan->keys.size(); ++i) (*index)[plan->keys[i]] = i;
  return [blobs, plan, index](const std::string& key, uint32_t frame) -> Result<DecodedFrame> {
    auto it = index->find(key);
    std::optional<Digest> digest = DigestFromHex(key);
    if (it == index->end() || !digest) return Status::NotFound("volume: unknown instance " + key);
    const PixelStorage& s = plan->storage[it->second];
    // The in-place fast path covers 8/16/32-bit monochrome; bit-packed
    // (1-bit SEG) and colour frames go through the decoder.
    if (s.native && s.samples == 1 && s.bits_allocated >= 8) {
      const ImageHeader h = NativeHeaderOf(s);
      const uint64_t fb = NativeFrameBytes(h);
      const uint64_t start = s.pixel_data_offset + frame * fb;
      ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> reader, blobs->Open(*digest));
      if (start + fb > reader->size()) {
        return Status::DataLoss("volume: pixel data of " + key + " truncated");
      }
      // A file little bigger than its frame (a CT slice) is read whole: the
      // store decompresses it straight into this buffer (reading only the
      // pixels would decompress to a scratch buffer and copy), and the
      // values are unpacked to its front.
      const bool whole = start <= kWholeFileSlack && reader->size() - start - fb <= kWholeFileSlack;
      const uint64_t from = whole ? 0 : start;
      std::vector<uint8_t> raw(whole ? reader->size() : fb);
      ASSIGN_OR_RETURN(size_t got, reader->ReadOnce(from, raw));
      if (got != raw.size()) return Status::DataLoss("volume: pixel data of " + key + " truncated");
      return DecodeNativeFrameAt(h, std::move(raw), start - from);
    }
    // The whole file, each zstd frame decoded straight into place (ReadAll
    // would stream it through a growing string).
    ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> reader, blobs->Open(*digest));
    std::vector<uint8_t> bytes(reader->size());
    ASSIGN_OR_RETURN(size_t got, reader->ReadOnce(0, bytes));
    if (got != bytes.size()) return Status::DataLoss("volume: " + key + " shorter than its size");
    ASSIGN_OR_RETURN(std::unique_ptr<PixelDecoder> decoder, PixelDecoder::Open(bytes));
    return decoder->Decode(frame);
  };
}

// Some rows of a native monochrome frame, read in place: what a read that
// grazes a neighbour slice needs (volume_reader.h, RowSource); over S3 the
// rest of that slice is then never fetched.
RowSource BlobRowSource(const BlobStore* blobs, std::shared_ptr<const SeriesPlan> plan) {
  auto index = std::make_shared<std::map<std::string, size_t>>();
  for (size_t i = 0; i < plan->keys.size(); ++i) (*index)[plan->keys[i]] = i;
  return [blobs, plan, index](const std::string& key, uint32_t frame, uint32_t first_row,
                              uint32_t rows) -> Result<std::optional<DecodedFrame>> {
    auto it = index->find(key);
    std::optional<Digest> digest = DigestFromHex(key);
    if (it == index->end() || !digest) return Status::NotFound("volume: unknown instance " + key);
    const PixelStorage& s = plan->storage[it->second];
    if (!s.native || s.samples != 1 || s.bits_allocated < 8) return std::optional<DecodedFrame>();
    ImageHeader h = NativeHeaderOf(s);
    const uint64_t fb = NativeFrameBytes(h);
    if (h.rows == 0 || fb % h.rows != 0 || uint64_t{first_row} + rows > h.rows) {
      return std::optional<DecodedFrame>();
    }
    const uint64_t row_bytes = fb / h.rows;
    ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> reader, blobs->Open(*digest));
    // Only a store that cuts its zstd frames at Pixel Data and finer (the
    // object store) reads a few rows for less than the slice. The local
    // store cuts blindly every 1 MiB: a CT slice's file is one frame, and
    // NIfTI's first rows are the file's last, so a few rows cost
    // decompressing the whole file -- again for each 128 KiB request the
    // kernel makes of the slice, as pieces are not cached (measured: zstd
    // was 70% of the daemon's CPU under random 1 MiB reads). The whole
    // frame instead: decoded once, kept in the reader's LRU.
    if (reader->PieceStarts().empty()) return std::optional<DecodedFrame>();
    std::vector<uint8_t> raw(row_bytes * rows);
    ASSIGN_OR_RETURN(size_t got,
                     reader->ReadOnce(s.pixel_data_offset + frame * fb + first_row * row_bytes, raw));
    if (got != raw.size()) return Status::DataLoss("volume: pixel data of " + key + " truncated");
    h.rows = rows;
    h.number_of_frames = 1;
    ASSIGN_OR_RETURN(DecodedFrame part, DecodeNativeFrame(h, std::move(raw)));
    return std::optional<DecodedFrame>(std::move(part));
  };
}

Result<std::shared_ptr<VolumeReader>> OpenSeriesVolume(const SeriesContext& ctx, size_t index) {
  ASSIGN_OR_RETURN(std::shared_ptr<const SeriesPlan> plan, SeriesPlanFor(ctx));
  if (index >= plan->volumes.size()) return Status::NotFound("no such volume in the series");
  VolumeReaderOptions options;
  options.cache_bytes = NiftiContent::kReaderCacheBytes;
  options.rows = BlobRowSource(ctx.blobs, plan);
  // A cold read of a series waits on one blob read per slice; hinted this
  // far ahead, the disk works while the slices before decode (a 512x512
  // CT slice is ~200 KB compressed: 32 are ~6 MB of page cache).
  options.warm_slices = kWarmSlices;
  options.warm = [blobs = ctx.blobs](const std::string& key) {
    if (std::optional<Digest> digest = DigestFromHex(key)) blobs->WillNeed(*digest);
  };
  return std::make_shared<VolumeReader>(plan, index, BlobFrameSource(ctx.blobs, plan), options);
}

Result<std::shared_ptr<DerivedContent>> VolumePlanProvider::Produce(
    const SeriesContext& ctx, std::string_view /*params*/) const {
  std::vector<std::pair<Digest, bool>> digests;
  RETURN_IF_ERROR(ctx.catalog->ForEachInstanceInSeries(ctx.series.uid, [&](const InstanceRecord& r) {
    digests.emplace_back(r.digest, r.meta.has_pixel_data && r.meta.rows > 0);
    return true;
  }));
  std::sort(digests.begin(), digests.end());
  std::erase_if(digests, [](const auto& d) { return !d.second; });  // no pixels: nothing to read
  std::vector<std::optional<ImageHeader>> headers(digests.size());
  RETURN_IF_ERROR(RecordedHeaders(ctx, digests, headers));
  // Instances indexed before header records were kept (or whose record did
  // not decode) have their header prefixes read on several threads: a
  // 1000-instance series is 1000 small blob reads and parses. With a cold
  // page cache each read waits on the disk (open, seek table, first frame:
  // measured ~4 ms each, CPU idle), so the threads are sized for I/O in
  // flight, not for cores.
  std::vector<size_t> missing;
  for (size_t i = 0; i < digests.size(); ++i) {
    if (!headers[i]) missing.push_back(i);
  }
  const size_t workers = std::min<size_t>(missing.size(), kPlanReadThreads);
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (size_t m = w; m < missing.size(); m += workers) {
        const size_t i = missing[m];
        Result<ImageHeader> header = ReadHeader(*ctx.blobs, digests[i].first);
        if (header.ok()) {
          headers[i] = std::move(*header);
        } else {
          DCMFS_LOG(Warning) << "volume plan: " << ToHex(digests[i].first) << ": "
                             << header.status().ToString();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<PlanInput> inputs;
  for (size_t i = 0; i < digests.size(); ++i) {
    if (headers[i]) inputs.push_back(PlanInput{ToHex(digests[i].first), std::move(*headers[i])});
  }
  ASSIGN_OR_RETURN(SeriesPlan plan, PlanVolumes(std::move(inputs)));
  return std::shared_ptr<DerivedContent>(
      std::make_shared<PlanContent>(std::make_shared<const SeriesPlan>(std::move(plan))));
}

std::vector<std::string> NiftiProvider::Names(const SeriesContext& ctx) const {
  return VolumeNames(ctx, ".nii");
}

std::optional<std::string> NiftiProvider::Match(const SeriesContext& ctx,
                                                std::string_view name) const {
  return MatchVolume(ctx, name, ".nii");
}

Result<std::shared_ptr<DerivedContent>> NiftiProvider::Produce(const SeriesContext& ctx,
                                                               std::string_view params) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const SeriesPlan> plan, SeriesPlanFor(ctx));
  auto index = IndexFromParams(*plan, params);
  if (!index) return Status::NotFound("series.nii: no such volume");
  ASSIGN_OR_RETURN(std::shared_ptr<VolumeReader> reader, OpenSeriesVolume(ctx, *index));
  return std::shared_ptr<DerivedContent>(std::make_shared<NiftiContent>(std::move(reader)));
}

std::vector<std::string> SidecarProvider::Names(const SeriesContext& ctx) const {
  return VolumeNames(ctx, ".json");
}

std::optional<std::string> SidecarProvider::Match(const SeriesContext& ctx,
                                                  std::string_view name) const {
  return MatchVolume(ctx, name, ".json");
}

Result<std::shared_ptr<DerivedContent>> SidecarProvider::Produce(const SeriesContext& ctx,
                                                                 std::string_view params) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const SeriesPlan> plan, SeriesPlanFor(ctx));
  auto index = IndexFromParams(*plan, params);
  if (!index) return Status::NotFound("series.json: no such volume");
  return std::shared_ptr<DerivedContent>(
      std::make_shared<StringContent>(plan->volumes[*index].sidecar_json));
}

}  // namespace dcmfs
