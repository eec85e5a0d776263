// A DCMTK input stream over caller-owned memory that, unlike
// DcmInputBufferStream, can hand out a stream factory. DCMTK only defers
// loading an element's value (anything longer than maxReadLength, i.e. Pixel
// Data) when the stream offers a factory to come back later; without one it
// copies the value into memory. With this stream a parse skips pixel data
// and reads it only if asked.
//
// The memory must outlive the stream and every DCMTK object read from it
// (elements keep a factory that points into it).
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcistrma.h>

#include <cstdint>
#include <span>

#include "codecs/internal/budgeted_stream.h"

namespace dcmfs::codecs_internal {

class SpanProducer : public DcmProducer {
 public:
  SpanProducer(std::span<const uint8_t> bytes, uint64_t offset);
  OFBool good() const override { return good_; }
  OFCondition status() const override;
  OFBool eos() override { return pos_ >= bytes_.size(); }
  offile_off_t avail() override { return static_cast<offile_off_t>(bytes_.size() - pos_); }
  offile_off_t read(void* buf, offile_off_t buflen) override;
  offile_off_t skip(offile_off_t skiplen) override;
  void putback(offile_off_t num) override;

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_;
  bool good_ = true;
};

class SpanInputStream : public DcmInputStream {
 public:
  // Reads `bytes` starting at `offset`.
  // `budgeted`: stop after the work budgets of budgeted_stream.h (parsing
  // untrusted input); streams that load a deferred value run unbudgeted.
  explicit SpanInputStream(std::span<const uint8_t> bytes, uint64_t offset = 0,
                           bool budgeted = false);
  // nullptr once a decompression filter (deflated transfer syntax) is
  // installed, because positions then no longer map to the buffer.
  DcmInputStreamFactory* newFactory() const override;
  // True if the parse stopped because it read more than `budget` bytes.
  bool exhausted() const { return budgeted_.exhausted(); }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t start_;
  SpanProducer producer_;
  BudgetedProducer budgeted_;
};

}  // namespace dcmfs::codecs_internal
