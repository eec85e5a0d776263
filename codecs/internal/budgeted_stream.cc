#include "codecs/internal/budgeted_stream.h"

#include <dcmtk/dcmdata/dcerror.h>

#include <algorithm>

namespace dcmfs::codecs_internal {

OFCondition BudgetedProducer::status() const {
  return exhausted_ ? EC_InvalidStream : inner_->status();
}

offile_off_t BudgetedProducer::Allow(offile_off_t want) {
  if (exhausted_ || want <= 0) return 0;
  if (static_cast<uint64_t>(want) > left_ ||
      (stream_ != nullptr && static_cast<uint64_t>(stream_->tell()) > expanded_budget_)) {
    exhausted_ = true;
    return 0;
  }
  return want;
}

offile_off_t BudgetedProducer::read(void* buf, offile_off_t buflen) {
  const offile_off_t n = inner_->read(buf, Allow(buflen));
  left_ -= static_cast<uint64_t>(std::max<offile_off_t>(n, 0));
  return n;
}

offile_off_t BudgetedProducer::skip(offile_off_t skiplen) {
  const offile_off_t n = inner_->skip(Allow(skiplen));
  left_ -= static_cast<uint64_t>(std::max<offile_off_t>(n, 0));
  return n;
}

// The base class only stores the producer pointer; members are built before use.
BudgetedFileStream::BudgetedFileStream(const std::string& path, uint64_t size)
    : DcmInputStream(&budgeted_),
      path_(path),
      file_(OFFilename(path.c_str())),
      budgeted_(&file_, ParseBudget(size)) {
  budgeted_.WatchStream(this, ExpandedBudget(size));
}

DcmInputStreamFactory* BudgetedFileStream::newFactory() const {
  // As DcmInputFileStream: no factory once a decompression filter is active.
  if (currentProducer() != &budgeted_) return nullptr;
  return new DcmInputFileStreamFactory(OFFilename(path_.c_str()), tell());
}

}  // namespace dcmfs::codecs_internal
