// Where to cut a DICOM file into compression frames so that the pieces a
// reader asks for separately land in frames of their own: a frame starts at
// the Pixel Data element and at each item (fragment) of encapsulated Pixel
// Data (PS3.5 A.4), and no frame is longer than `max_frame`. A tile of a
// whole-slide image (one fragment) or a slice of a volume (one instance's
// pixel data) then costs the bytes of its own frames, not its neighbours'.
//
// A heuristic over bytes, not a parse: a file that is not DICOM, or whose
// Pixel Data is not found, is simply cut every `max_frame` bytes. Cut points
// change only efficiency, never the bytes read back.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/status.h"

namespace dcmfs {

// Reads up to out.size() bytes at an offset of the file; returns the count.
using ReadFn = std::function<Result<size_t>(uint64_t offset, std::span<uint8_t> out)>;

// Frame sizes (summing to `size`, each in 1..max_frame) for a file of `size`
// bytes. Native (not encapsulated) Pixel Data is cut every
// min(max_native_frame, max_frame) bytes from its first byte: a reader
// that needs a few rows of an image (a NIfTI read grazing a neighbour
// slice) then pays those rows' frame, not half the image. Encapsulated
// items keep max_frame, so that a tile stays one frame.
Result<std::vector<uint32_t>> PlanFrames(const ReadFn& read, uint64_t size, uint32_t max_frame,
                                         uint32_t max_native_frame);

}  // namespace dcmfs
