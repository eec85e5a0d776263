// One stored frame of an encapsulated multi-frame instance (a tile of a
// whole-slide level), read without reading the rest of the file.
//
// Encapsulated Pixel Data (PS3.5 A.4) is a Basic Offset Table item then one
// item per fragment; the corpus slides, like many, leave the offset table
// empty, so finding fragment k normally means walking k item headers through
// the file. An object-store blob is cut into frames at every item
// (index/internal/frame_plan.h), so the item starts are among the blob's
// frame starts (BlobReader::PieceStarts) and no walk is needed: with one
// fragment per frame and no fragment longer than a blob frame, the last
// `frames` frame starts are the fragments and the one before is the offset
// table. That reading is checked, not assumed: the Pixel Data element header
// must end where the offset table item begins, the table's length must reach
// the first fragment, and each fragment's own item header must give exactly
// its length. Anything else answers "not indexable" and the caller reads the
// whole file as before. Thread-safe (immutable after Locate).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/status.h"
#include "index/blob_store.h"

namespace dcmfs::iiif {

struct FragmentIndex {
  std::shared_ptr<BlobReader> reader;
  std::vector<uint64_t> items;  // offset of frame i's item header; then the delimiter's offset
};

// nullopt when the store does not cut at items or the layout is not one
// fragment per frame as described above; errors are those of the store.
Result<std::optional<FragmentIndex>> LocateFragments(const BlobStore& blobs, const Digest& digest,
                                                     uint32_t frames);

// Frame i's bitstream: the item's value, a JPEG's trailing 00 pad removed
// (as PixelDecoder::EncodedFrame gives it). DataLoss naming the blob when
// the item header disagrees with the index.
Result<std::vector<uint8_t>> ReadFragment(const BlobStore& blobs, const Digest& digest,
                                          const FragmentIndex& index, uint32_t i);

}  // namespace dcmfs::iiif
