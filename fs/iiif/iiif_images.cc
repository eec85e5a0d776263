#include "fs/iiif/iiif_images.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>

#include "base/log.h"
#include "base/lru.h"
#include "codecs/sha256.h"
#include "fs/iiif/iiif_fragments.h"
#include "fs/iiif/iiif_render.h"

namespace dcmfs::iiif {
namespace {

constexpr const char* kJpegBaseline = "1.2.840.10008.1.2.4.50";

// The third value of ImageType (PS3.3 C.8.12.4.1.1 for whole-slide images).
std::string Flavor(const std::string& image_type) {
  WsiHeader h;
  h.image_type = image_type;
  return h.flavor();
}

Result<std::string> ReadPrefix(const BlobStore& blobs, const Digest& digest, uint64_t bytes) {
  ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> reader, blobs.Open(digest));
  std::string out(std::min<uint64_t>(bytes, reader->size()), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(done, {reinterpret_cast<uint8_t*>(out.data()) + done,
                                                     out.size() - done}));
    if (n == 0) return Status::DataLoss("blob shorter than its size");
    done += n;
  }
  return out;
}

Result<WsiHeader> ReadWsiHeader(const BlobStore& blobs, const Digest& digest, uint64_t file_size) {
  uint64_t want = 64 * 1024;
  for (int attempt = 0; attempt < 16; ++attempt) {
    ASSIGN_OR_RETURN(std::string prefix, ReadPrefix(blobs, digest, want));
    ASSIGN_OR_RETURN(WsiHeaderOrMore r,
                     ParseWsiHeader({reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()},
                                    file_size));
    if (r.need_bytes == 0) return r.header;
    if (r.need_bytes <= want) return Status::DataLoss("whole-slide header: no progress");
    want = r.need_bytes;
  }
  return Status::DataLoss("whole-slide header: too long");
}

// Position along the slice normal, for spatial order (PS3.3 C.7.6.2.1.1).
std::optional<double> SlicePosition(const InstanceMeta& m) {
  if (!m.image_position || !m.image_orientation) return std::nullopt;
  const auto& o = *m.image_orientation;
  const double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  const auto& p = *m.image_position;
  return p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
}

IiifImage FrameImage(const InstanceRecord& rec, uint32_t frame, bool multi) {
  const InstanceMeta& m = rec.meta;
  IiifImage image;
  image.id = multi ? m.sop_uid + ".f" + std::to_string(frame + 1) : m.sop_uid;
  image.width = m.columns;
  image.height = m.rows;
  image.color = m.samples_per_pixel == 3;
  image.digest = rec.digest;
  image.frame = frame;
  image.frames = std::max<uint32_t>(1, m.number_of_frames);
  image.display = DisplaySettingsFromMeta(m);
  image.label = m.instance_number ? "Instance " + std::to_string(*m.instance_number)
                                  : std::string("Instance");
  if (multi) image.label += " frame " + std::to_string(frame + 1);
  image.info = MakeImageInfo(image.width, image.height, image.color);
  return image;
}

Result<std::optional<IiifImage>> PyramidImage(const SeriesContext& ctx,
                                              const std::vector<const InstanceRecord*>& recs) {
  IiifImage image;
  image.id = ctx.series.uid;
  image.label = "Slide";
  for (const InstanceRecord* rec : recs) {
    auto header = ReadWsiHeader(*ctx.blobs, rec->digest, rec->size);
    if (!header.ok()) {
      DCMFS_LOG(Warning) << "iiif: whole-slide level skipped: " << header.status().ToString();
      continue;
    }
    // TILED_SPARSE frames need per-frame positions (Per-Frame Functional
    // Groups); only TILED_FULL (C.7.6.17.3) is served as a pyramid level.
    if (header->dimension_organization != "TILED_FULL" && header->frames > 1) continue;
    PyramidLevel level{rec->digest, std::move(*header), 0};
    level.tiles_across = (level.header.total_columns + level.header.tile_columns - 1) /
                         level.header.tile_columns;
    image.levels.push_back(std::move(level));
  }
  if (image.levels.empty()) return std::optional<IiifImage>();
  std::sort(image.levels.begin(), image.levels.end(), [](const PyramidLevel& a, const PyramidLevel& b) {
    return a.header.total_columns > b.header.total_columns;
  });
  const WsiHeader& base = image.levels.front().header;
  image.width = base.total_columns;
  image.height = base.total_rows;
  image.color = base.samples_per_pixel == 3;
  std::vector<std::pair<uint32_t, uint32_t>> sizes;
  for (const PyramidLevel& l : image.levels) sizes.emplace_back(l.header.total_columns, l.header.total_rows);
  image.info = MakePyramidInfo(sizes, image.color, base.tile_columns, base.tile_rows);
  return std::optional<IiifImage>(std::move(image));
}

// 2 x 2 box average (an odd last row or column averages what it has): one
// level of the frame's pyramid. Exact area averaging when sizes are even.
Raster HalveRaster(const Raster& in) {
  const uint16_t ch = in.channels;
  Raster out{(in.width + 1) / 2, (in.height + 1) / 2, ch, {}};
  out.pixels.resize(size_t{out.width} * out.height * ch);
  for (uint32_t y = 0; y < out.height; ++y) {
    const uint32_t ya = 2 * y, yb = std::min(in.height - 1, 2 * y + 1);
    const uint8_t* ra = in.pixels.data() + size_t{ya} * in.width * ch;
    const uint8_t* rb = in.pixels.data() + size_t{yb} * in.width * ch;
    uint8_t* o = out.pixels.data() + size_t{y} * out.width * ch;
    for (uint32_t x = 0; x < out.width; ++x) {
      const uint32_t xa = 2 * x, xb = std::min(in.width - 1, 2 * x + 1);
      for (uint16_t c = 0; c < ch; ++c) {
        const unsigned sum = ra[xa * ch + c] + ra[xb * ch + c] + rb[xa * ch + c] + rb[xb * ch + c];
        o[size_t{x} * ch + c] = static_cast<uint8_t>((sum + 2) / 4);
      }
    }
  }
  return out;
}

// A value produced once per key and kept in a bounded LRU; concurrent askers
// of the same key wait for the one production.
template <typename V>
class FlightCache {
 public:
  using Ptr = std::shared_ptr<const V>;
  explicit FlightCache(uint64_t capacity) : lru_(capacity) {}

  Result<Ptr> Get(const std::string& key, const std::function<Result<Ptr>()>& make,
                  const std::function<uint64_t(const V&)>& cost) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      if (auto hit = lru_.Get(key)) return *hit;
      auto it = flights_.find(key);
      if (it != flights_.end()) {
        flight = it->second;
      } else {
        flight = std::make_shared<Flight>();
        flights_[key] = flight;
        leader = true;
      }
    }
    if (!leader) {
      std::unique_lock lock(flight->mu);
      flight->cv.wait(lock, [&] { return flight->done; });
      if (flight->value) return flight->value;
      return flight->status;
    }
    Result<Ptr> made = make();
    {
      std::lock_guard lock(mu_);
      if (made.ok()) lru_.Put(key, *made, cost(**made));
      flights_.erase(key);
    }
    {
      std::lock_guard lock(flight->mu);
      flight->done = true;
      if (made.ok()) {
        flight->value = *made;
      } else {
        flight->status = made.status();
      }
    }
    flight->cv.notify_all();
    return made;
  }

 private:
  struct Flight {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Ptr value;
    Status status;
  };
  std::mutex mu_;  // leaf
  LruCache<std::string, Ptr> lru_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

// A blob in memory with its decoder (which keeps views into the bytes).
struct OpenFile {
  std::string bytes;
  std::unique_ptr<PixelDecoder> decoder;
};

// Where a level's tiles sit in its blob, when the store can say (null: read the whole file).
struct LevelFragments {
  std::optional<FragmentIndex> index;
};

}  // namespace

const IiifImage* SeriesImages::Find(std::string_view id) const {
  auto it = by_id.find(id);
  return it == by_id.end() ? nullptr : &images[it->second];
}

Result<std::shared_ptr<const SeriesImages>> ListSeriesImages(const SeriesContext& ctx) {
  std::vector<InstanceRecord> records;
  RETURN_IF_ERROR(ctx.catalog->ForEachInstanceInSeries(ctx.series.uid, [&](const InstanceRecord& r) {
    if (r.meta.has_pixel_data && r.meta.rows > 0 && r.meta.columns > 0) records.push_back(r);
    return true;
  }));
  // Spatial order, then Instance Number, then UID (stable across mounts).
  std::sort(records.begin(), records.end(), [](const InstanceRecord& a, const InstanceRecord& b) {
    const auto pa = SlicePosition(a.meta), pb = SlicePosition(b.meta);
    if (pa && pb && *pa != *pb) return *pa < *pb;
    const int64_t na = a.meta.instance_number.value_or(0), nb = b.meta.instance_number.value_or(0);
    if (na != nb) return na < nb;
    return a.meta.sop_uid < b.meta.sop_uid;
  });
  auto out = std::make_shared<SeriesImages>();
  std::vector<const InstanceRecord*> levels;
  for (const InstanceRecord& rec : records) {
    const std::string flavor = Flavor(rec.meta.image_type);
    if (rec.meta.sop_class_uid == kVlWholeSlideMicroscopyStorage &&
        (flavor == "VOLUME" || flavor == "THUMBNAIL")) {
      levels.push_back(&rec);
      continue;
    }
    const uint32_t frames = std::max<uint32_t>(1, rec.meta.number_of_frames);
    for (uint32_t f = 0; f < frames; ++f) out->images.push_back(FrameImage(rec, f, frames > 1));
  }
  if (!levels.empty()) {
    ASSIGN_OR_RETURN(std::optional<IiifImage> pyramid, PyramidImage(ctx, levels));
    if (pyramid) out->images.insert(out->images.begin(), std::move(*pyramid));
  }
  for (size_t i = 0; i < out->images.size(); ++i) out->by_id.emplace(out->images[i].id, i);
  return std::shared_ptr<const SeriesImages>(std::move(out));
}

struct IiifPixels::Impl {
  explicit Impl(const IiifPixelsOptions& o)
      : series(64 << 20), fragments(16 << 20), files(o.file_bytes), rasters(o.raster_bytes),
        tiles(o.tile_bytes) {}

  // The fragment index of a level, found once from its blob's frame starts.
  Result<std::shared_ptr<const LevelFragments>> Fragments(const SeriesContext& ctx,
                                                          const PyramidLevel& level) {
    return fragments.Get(
        ToHex(level.digest),
        [&]() -> Result<std::shared_ptr<const LevelFragments>> {
          auto found = std::make_shared<LevelFragments>();
          ASSIGN_OR_RETURN(found->index, LocateFragments(*ctx.blobs, level.digest, level.header.frames));
          return std::shared_ptr<const LevelFragments>(std::move(found));
        },
        [](const LevelFragments& f) { return 64 + (f.index ? f.index->items.size() * 8 : 0); });
  }

  // The stored bitstream of tile `index`: from its own fragment when the
  // store can locate it (over S3: a few KiB fetched, not the level), else
  // from the whole file.
  Result<std::vector<uint8_t>> EncodedTile(const SeriesContext& ctx, const PyramidLevel& level,
                                           uint32_t index) {
    ASSIGN_OR_RETURN(auto where, Fragments(ctx, level));
    if (where->index) {
      auto alone = ReadFragment(*ctx.blobs, level.digest, *where->index, index);
      // DataLoss: not laid out as the frame starts suggested (data after
      // Pixel Data, say): the decoder below walks the file instead.
      if (alone.ok() || alone.status().code() != StatusCode::kDataLoss) return alone;
    }
    ASSIGN_OR_RETURN(auto file, Open(ctx, level.digest));
    return file->decoder->EncodedFrame(index);
  }

  // A baseline JPEG tile decoded from its fragment alone (libjpeg, as
  // DCMTK's decoder: YCbCr to RGB by the codec); nullopt when the tile is
  // not such a tile or not located, and the whole file is decoded instead.
  Result<std::optional<Raster>> TileFromFragment(const SeriesContext& ctx, const PyramidLevel& level,
                                                 uint32_t index) {
    const WsiHeader& h = level.header;
    if (h.transfer_syntax_uid != kJpegBaseline || h.samples_per_pixel != 3) return std::optional<Raster>();
    ASSIGN_OR_RETURN(auto where, Fragments(ctx, level));
    if (!where->index) return std::optional<Raster>();
    auto jpeg = ReadFragment(*ctx.blobs, level.digest, *where->index, index);
    if (!jpeg.ok() && jpeg.status().code() == StatusCode::kDataLoss) return std::optional<Raster>();
    if (!jpeg.ok()) return jpeg.status();
    auto raster = DecodeJpeg(*jpeg);
    if (!raster.ok() || raster->width != h.tile_columns || raster->height != h.tile_rows ||
        raster->channels != 3) {
      return std::optional<Raster>();
    }
    return std::optional<Raster>(std::move(raster).value());
  }

  Result<std::shared_ptr<const OpenFile>> Open(const SeriesContext& ctx, const Digest& digest) {
    return files.Get(
        ToHex(digest),
        [&]() -> Result<std::shared_ptr<const OpenFile>> {
          auto file = std::make_shared<OpenFile>();
          ASSIGN_OR_RETURN(file->bytes, ctx.blobs->ReadAll(digest));
          ASSIGN_OR_RETURN(file->decoder,
                           PixelDecoder::Open({reinterpret_cast<const uint8_t*>(file->bytes.data()),
                                               file->bytes.size()}));
          return std::shared_ptr<const OpenFile>(std::move(file));
        },
        [](const OpenFile& f) { return f.bytes.size(); });
  }

  // Tile `index` of a whole-slide level, rendered to 8 bits.
  Result<std::shared_ptr<const Raster>> Tile(const SeriesContext& ctx, const PyramidLevel& level,
                                             uint32_t index) {
    return tiles.Get(
        ToHex(level.digest) + "/" + std::to_string(index),
        [&]() -> Result<std::shared_ptr<const Raster>> {
          ASSIGN_OR_RETURN(std::optional<Raster> alone, TileFromFragment(ctx, level, index));
          if (alone) return std::shared_ptr<const Raster>(std::make_shared<Raster>(std::move(*alone)));
          ASSIGN_OR_RETURN(auto file, Open(ctx, level.digest));
          ASSIGN_OR_RETURN(DecodedFrame frame, file->decoder->Decode(index));
          ASSIGN_OR_RETURN(Raster raster, RenderFrame(frame, DisplaySettings{}));
          return std::shared_ptr<const Raster>(std::make_shared<Raster>(std::move(raster)));
        },
        [](const Raster& r) { return r.pixels.size(); });
  }

  Result<std::string> RenderPyramid(const SeriesContext& ctx, const IiifImage& image,
                                    const Resolved& r);
  Result<std::optional<std::string>> PassThrough(const SeriesContext& ctx, const PyramidLevel& level,
                                                 double downsample, const Resolved& r);

  FlightCache<SeriesImages> series;
  FlightCache<LevelFragments> fragments;
  FlightCache<OpenFile> files;
  FlightCache<Raster> rasters;
  FlightCache<Raster> tiles;
};

// A request that is exactly one stored tile of a JPEG level, delivered as is:
// the stored frame's bytes are a complete JPEG stream (PS3.5 A.4.1 / 8.2.1).
Result<std::optional<std::string>> IiifPixels::Impl::PassThrough(const SeriesContext& ctx,
                                                                 const PyramidLevel& level,
                                                                 double downsample,
                                                                 const Resolved& r) {
  const WsiHeader& h = level.header;
  const bool plain = !r.mirror && r.rotation == 0 && r.format == Format::kJpg &&
                     (r.quality == Quality::kDefault || r.quality == Quality::kColor);
  if (!plain || h.transfer_syntax_uid != kJpegBaseline) return std::optional<std::string>();
  const auto s = static_cast<uint64_t>(std::lround(downsample));
  const uint64_t span_w = uint64_t{h.tile_columns} * s, span_h = uint64_t{h.tile_rows} * s;
  if (s == 0 || r.x % span_w != 0 || r.y % span_h != 0) return std::optional<std::string>();
  if (r.out_w != h.tile_columns || r.out_h != h.tile_rows) return std::optional<std::string>();
  const uint64_t col = r.x / span_w, row = r.y / span_h;
  if ((col + 1) * h.tile_columns > h.total_columns || (row + 1) * h.tile_rows > h.total_rows) {
    return std::optional<std::string>();  // an edge tile: the stored frame is padded
  }
  const uint64_t index = row * level.tiles_across + col;
  if (index >= h.frames) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::vector<uint8_t> jpeg, EncodedTile(ctx, level, static_cast<uint32_t>(index)));
  auto header = ReadJpegHeader(jpeg);
  if (!header.ok() || header->width != h.tile_columns || header->height != h.tile_rows) {
    return std::optional<std::string>();  // not what it claims: re-encode instead
  }
  return std::optional<std::string>(std::string(jpeg.begin(), jpeg.end()));
}

Result<std::string> IiifPixels::Impl::RenderPyramid(const SeriesContext& ctx, const IiifImage& image,
                                                    const Resolved& r) {
  // Base pixels per output pixel; the coarsest level at least that fine.
  const double wanted = std::min(double(r.w) / r.out_w, double(r.h) / r.out_h);
  const PyramidLevel* level = &image.levels.front();
  for (const PyramidLevel& l : image.levels) {
    if (double(image.width) / l.header.total_columns <= wanted * 1.001) level = &l;
  }
  const WsiHeader& h = level->header;
  const double dx = double(image.width) / h.total_columns, dy = double(image.height) / h.total_rows;
  ASSIGN_OR_RETURN(std::optional<std::string> stored, PassThrough(ctx, *level, dx, r));
  if (stored) return std::move(*stored);
  // The region in level pixels, composed from the tiles it touches.
  const auto lx0 = static_cast<uint32_t>(std::floor(r.x / dx));
  const auto ly0 = static_cast<uint32_t>(std::floor(r.y / dy));
  const uint32_t lx1 = std::clamp<uint32_t>(uint32_t(std::ceil((r.x + r.w) / dx)), lx0 + 1, h.total_columns);
  const uint32_t ly1 = std::clamp<uint32_t>(uint32_t(std::ceil((r.y + r.h) / dy)), ly0 + 1, h.total_rows);
  if (lx0 >= lx1 || ly0 >= ly1) return Status::InvalidArgument("iiif: region outside the level");
  const uint16_t ch = image.color ? 3 : 1;
  Raster canvas{lx1 - lx0, ly1 - ly0, ch, std::vector<uint8_t>(size_t{lx1 - lx0} * (ly1 - ly0) * ch, 255)};
  for (uint32_t row = ly0 / h.tile_rows; row * h.tile_rows < ly1; ++row) {
    for (uint32_t col = lx0 / h.tile_columns; col * h.tile_columns < lx1; ++col) {
      const uint64_t index = uint64_t{row} * level->tiles_across + col;
      if (index >= h.frames) continue;
      ASSIGN_OR_RETURN(auto tile, Tile(ctx, *level, static_cast<uint32_t>(index)));
      if (tile->channels != ch) return Status::Unsupported("iiif: tile channels differ from the slide's");
      const uint32_t tx = col * h.tile_columns, ty = row * h.tile_rows;
      const uint32_t x0 = std::max(lx0, tx), x1 = std::min({lx1, tx + tile->width});
      const uint32_t y0 = std::max(ly0, ty), y1 = std::min({ly1, ty + tile->height});
      for (uint32_t y = y0; y < y1 && x0 < x1; ++y) {
        std::memcpy(canvas.pixels.data() + (size_t{y - ly0} * canvas.width + (x0 - lx0)) * ch,
                    tile->pixels.data() + (size_t{y - ty} * tile->width + (x0 - tx)) * ch,
                    size_t{x1 - x0} * ch);
      }
    }
  }
  return RenderRegion(canvas.view(), r);
}

IiifPixels::IiifPixels(const IiifPixelsOptions& options) : impl_(std::make_unique<Impl>(options)) {}
IiifPixels::~IiifPixels() = default;

Result<std::shared_ptr<const SeriesImages>> IiifPixels::Images(const SeriesContext& ctx) {
  return impl_->series.Get(
      ctx.series.uid + "/" + ctx.series.generation, [&] { return ListSeriesImages(ctx); },
      [](const SeriesImages& s) { return 1024 + s.images.size() * 512; });
}

Result<std::shared_ptr<const Raster>> IiifPixels::FrameRaster(const SeriesContext& ctx,
                                                              const IiifImage& image) {
  return impl_->rasters.Get(
      ToHex(image.digest) + "/" + std::to_string(image.frame),
      [&]() -> Result<std::shared_ptr<const Raster>> {
        std::shared_ptr<const OpenFile> file;
        if (image.frames > 1) {  // other frames will want the same file
          ASSIGN_OR_RETURN(file, impl_->Open(ctx, image.digest));
        } else {  // read once: the rendered frame is what stays cached
          auto once = std::make_shared<OpenFile>();
          ASSIGN_OR_RETURN(once->bytes, ctx.blobs->ReadAll(image.digest));
          ASSIGN_OR_RETURN(once->decoder,
                           PixelDecoder::Open({reinterpret_cast<const uint8_t*>(once->bytes.data()),
                                               once->bytes.size()}));
          file = std::move(once);
        }
        ASSIGN_OR_RETURN(DecodedFrame frame, file->decoder->Decode(image.frame));
        file.reset();
        ASSIGN_OR_RETURN(Raster raster, RenderFrame(frame, image.display));
        return std::shared_ptr<const Raster>(std::make_shared<Raster>(std::move(raster)));
      },
      [](const Raster& r) { return r.pixels.size(); });
}

Result<std::shared_ptr<const Raster>> IiifPixels::LevelRaster(const SeriesContext& ctx,
                                                              const IiifImage& image,
                                                              uint32_t level) {
  if (level == 0) return FrameRaster(ctx, image);
  return impl_->rasters.Get(
      ToHex(image.digest) + "/" + std::to_string(image.frame) + "/L" + std::to_string(level),
      [&]() -> Result<std::shared_ptr<const Raster>> {
        ASSIGN_OR_RETURN(auto finer, LevelRaster(ctx, image, level - 1));
        return std::shared_ptr<const Raster>(std::make_shared<Raster>(HalveRaster(*finer)));
      },
      [](const Raster& r) { return r.pixels.size(); });
}

Result<std::string> IiifPixels::Render(const SeriesContext& ctx, const IiifImage& image,
                                       const Resolved& r) {
  if (image.is_pyramid()) return impl_->RenderPyramid(ctx, image, r);
  // The coarsest pyramid level at least as fine as the output.
  const double wanted = std::min(double(r.w) / r.out_w, double(r.h) / r.out_h);
  uint32_t level = 0;
  while (level < 30 && double(2u << level) <= wanted * 1.0001) ++level;
  ASSIGN_OR_RETURN(std::shared_ptr<const Raster> src, LevelRaster(ctx, image, level));
  const uint32_t f = 1u << level;
  if ((src->width != (image.width + f - 1) / f) || src->height != (image.height + f - 1) / f) {
    return Status::Corruption("iiif: decoded frame size differs from the catalog's");
  }
  // The region in level pixels (whole pixels covering it).
  const uint32_t x0 = r.x / f, y0 = r.y / f;
  const uint32_t x1 = std::min(src->width, (r.x + r.w + f - 1) / f);
  const uint32_t y1 = std::min(src->height, (r.y + r.h + f - 1) / f);
  const RasterView region{src->pixels.data() + (size_t{y0} * src->width + x0) * src->channels,
                          x1 - x0, y1 - y0, src->channels, size_t{src->width} * src->channels};
  return RenderRegion(region, r);
}

}  // namespace dcmfs::iiif
