// Work budgets for DCMTK parses of untrusted input.
//
// DCMTK re-reads input on some malformed structures: a run of zero bytes read
// as (0000,0000) elements with an invalid VR makes it put back and re-read
// again and again. The fuzzer found a 77 KB file on which dcmdump spends 23 s
// and reads 14.9 MB from the stream; such inputs would stall ingest. A valid
// file is read about once (plus a few bytes put back per element), so
// parsing stops once it has read or skipped a small multiple of the input's
// size. Work then grows linearly with the input, whatever it holds.
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dcistrmf.h>

#include <cstdint>
#include <string>

namespace dcmfs::codecs_internal {

// How many bytes a parse of `size` input bytes may read or skip in all.
inline uint64_t ParseBudget(uint64_t size) { return 8 * size + (1u << 20); }

// How far a deflated dataset (PS3.5 A.5) may expand while being parsed. A
// "deflate bomb" expands up to ~1000x into runs of zero-tag elements that
// DCMTK handles at only ~3 MB/s (the fuzzer's 77 KB bomb expands 193x to
// 14.9 MB: 5 s). Real deflated datasets (reports, structured documents, the
// odd image) stay far below 32x; a blank image whose pixels deflate to
// nothing is covered by the constant up to 4 MiB. A larger, extremely
// compressible deflated file is refused (and quarantined, not lost).
inline uint64_t ExpandedBudget(uint64_t size) { return 32 * size + (4u << 20); }

// Passes everything to `inner` (not owned) until `budget` bytes have been
// read or skipped; then reports a bad stream, which ends DCMTK's parse.
class BudgetedProducer : public DcmProducer {
 public:
  BudgetedProducer(DcmProducer* inner, uint64_t budget) : inner_(inner), left_(budget) {}
  // Also stop once `stream` (which may decompress what this producer gives
  // it) has handed out more than `expanded_budget` bytes.
  void WatchStream(const DcmInputStream* stream, uint64_t expanded_budget) {
    stream_ = stream;
    expanded_budget_ = expanded_budget;
  }
  OFBool good() const override { return !exhausted_ && inner_->good(); }
  OFCondition status() const override;
  OFBool eos() override { return exhausted_ || inner_->eos(); }
  offile_off_t avail() override { return exhausted_ ? 0 : inner_->avail(); }
  offile_off_t read(void* buf, offile_off_t buflen) override;
  offile_off_t skip(offile_off_t skiplen) override;
  void putback(offile_off_t num) override { inner_->putback(num); }
  bool exhausted() const { return exhausted_; }

 private:
  offile_off_t Allow(offile_off_t want);

  DcmProducer* inner_;
  uint64_t left_;
  const DcmInputStream* stream_ = nullptr;
  uint64_t expanded_budget_ = 0;
  bool exhausted_ = false;
};

// DcmInputFileStream with a budget. Offers the usual file stream factory, so
// DCMTK defers large values (Pixel Data) and skips them on disk.
class BudgetedFileStream : public DcmInputStream {
 public:
  // `size` is the file's size; the budgets above follow from it.
  BudgetedFileStream(const std::string& path, uint64_t size);
  DcmInputStreamFactory* newFactory() const override;
  bool exhausted() const { return budgeted_.exhausted(); }

 private:
  std::string path_;
  DcmFileProducer file_;
  BudgetedProducer budgeted_;
};

}  // namespace dcmfs::codecs_internal
