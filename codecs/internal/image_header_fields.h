// Attribute readers and the sidecar/identification fields of ImageHeader
// (codecs/image_header.h). DCMTK types: internal to codecs/.
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "codecs/image_header.h"

namespace dcmfs::codecs_internal::image_header {

// A string attribute, padding trimmed ("" when absent).
std::string Ascii(DcmItem& item, const DcmTagKey& tag);
// The first value of an IS/US/SS attribute.
std::optional<int64_t> Integer(DcmItem& item, const DcmTagKey& tag);
uint16_t U16(DcmItem& item, const DcmTagKey& tag);

// N finite numbers of a DS/FD attribute (searched in `item` only).
template <size_t N>
std::optional<std::array<double, N>> Doubles(DcmItem& item, const DcmTagKey& tag) {
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) {
    Float64 v = 0;
    if (item.findAndGetFloat64(tag, v, static_cast<unsigned long>(i)).bad() || !std::isfinite(v)) {
      return std::nullopt;
    }
    out[i] = v;
  }
  return out;
}
inline std::optional<double> Double(DcmItem& item, const DcmTagKey& tag) {
  auto v = Doubles<1>(item, tag);
  return v ? std::optional<double>((*v)[0]) : std::nullopt;
}

// UIDs, modality, numbers, ImageType, times, tilt.
void FillIdentification(DcmItem& ds, ImageHeader& h);
// ImageHeader::sidecar in dcm2niix's names, units and order.
void FillSidecar(DcmItem& ds, ImageHeader& h);

}  // namespace dcmfs::codecs_internal::image_header
