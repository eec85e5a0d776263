// Reading the metadata of a DICOM file held in memory.
//
// Thread-safe: may be called concurrently on different buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "codecs/instance_meta.h"

namespace dcmfs {

// Parses a DICOM Part 10 file (preamble + "DICM" + meta header), or a raw
// dataset without preamble (implicit VR little endian, as some old devices
// write). Pixel data is not decoded.
//
// Errors (the message says why, never with patient data):
//   DataLoss        empty, truncated, or not parseable as DICOM
//   InvalidArgument parsed, but lacks a UID needed to place it in the tree
//                   (StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID),
//                   or is a DICOMDIR / media directory rather than an instance
Result<InstanceMeta> ParseDicom(std::span<const uint8_t> bytes);

// The same for a file on disk, reading only what the metadata needs (Pixel
// Data is skipped on disk), so memory does not grow with the file. Also
// IoError when the file cannot be opened.
Result<InstanceMeta> ParseDicomFile(const std::string& path);

}  // namespace dcmfs
