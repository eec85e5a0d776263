#include "codecs/internal/span_input_stream.h"

#include <dcmtk/dcmdata/dcerror.h>

#include <algorithm>
#include <cstring>

namespace dcmfs::codecs_internal {
namespace {

class SpanStreamFactory : public DcmInputStreamFactory {
 public:
  SpanStreamFactory(std::span<const uint8_t> bytes, uint64_t offset)
      : bytes_(bytes), offset_(offset) {}
  DcmInputStream* create() const override { return new SpanInputStream(bytes_, offset_); }
  DcmInputStreamFactory* clone() const override { return new SpanStreamFactory(*this); }
  // DCMTK only distinguishes file from temp-file factories; ours behaves as a file.
  DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t offset_;
};

}  // namespace

SpanProducer::SpanProducer(std::span<const uint8_t> bytes, uint64_t offset)
    : bytes_(bytes), pos_(std::min<uint64_t>(offset, bytes.size())) {}

OFCondition SpanProducer::status() const { return good_ ? EC_Normal : EC_InvalidStream; }

offile_off_t SpanProducer::read(void* buf, offile_off_t buflen) {
  if (buflen <= 0 || !good_) return 0;
  const size_t n = std::min<size_t>(static_cast<size_t>(buflen), bytes_.size() - pos_);
  if (n > 0) std::memcpy(buf, bytes_.data() + pos_, n);
  pos_ += n;
  return static_cast<offile_off_t>(n);
}

offile_off_t SpanProducer::skip(offile_off_t skiplen) {
  if (skiplen <= 0 || !good_) return 0;
  const size_t n = std::min<size_t>(static_cast<size_t>(skiplen), bytes_.size() - pos_);
  pos_ += n;
  return static_cast<offile_off_t>(n);
}

void SpanProducer::putback(offile_off_t num) {
  if (num < 0 || static_cast<size_t>(num) > pos_) {
    good_ = false;  // as DcmBufferProducer: putback beyond the start is an error
    return;
  }
  pos_ -= static_cast<size_t>(num);
}

SpanInputStream::SpanInputStream(std::span<const uint8_t> bytes, uint64_t offset, bool budgeted)
    : DcmInputStream(&budgeted_),
      bytes_(bytes),
      start_(offset),
      producer_(bytes, offset),
      budgeted_(&producer_, budgeted ? ParseBudget(bytes.size()) : UINT64_MAX) {
  if (budgeted) budgeted_.WatchStream(this, ExpandedBudget(bytes.size()));
}

DcmInputStreamFactory* SpanInputStream::newFactory() const {
  if (currentProducer() != &budgeted_) return nullptr;
  return new SpanStreamFactory(bytes_, start_ + static_cast<uint64_t>(tell()));
}

}  // namespace dcmfs::codecs_internal
