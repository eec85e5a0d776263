#include "index/internal/log_format.h"

#include <cstdio>
#include <cstring>
#include <sstream>

#include "codecs/sha256.h"
#include "codecs/zstd_seekable.h"

namespace dcmfs::internal {
namespace {

constexpr std::string_view kLogMagic = "DCMFSLG2";  // body zstd-compressed (seekable format)
constexpr uint64_t kMaxLogBody = 256u << 20;       // what a reader will inflate an object to
constexpr std::string_view kLatestMagic = "dcmfs-index-latest 1";
constexpr size_t kDigestSize = 32;

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian fixed-width integers and byte strings from a buffer.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Fixed(int bytes, uint64_t* v) {
    if (data_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    *v = 0;
    for (int i = 0; i < bytes; ++i) {
      *v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (data_.size() - pos_ < n) return false;
    out->assign(data_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

bool ParseU64(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *v = n;
  return true;
}

}  // namespace

std::string Pad20(uint64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string LatestKey(const std::string& prefix) { return prefix + "LATEST"; }
std::string LogDir(const std::string& prefix, const std::string& db_id) {
  return prefix + "log/" + db_id + "/";
}
std::string LogKey(const std::string& prefix, const std::string& db_id, uint64_t first_seq) {
  return LogDir(prefix, db_id) + Pad20(first_seq) + ".wb";
}
std::string CheckpointDir(const std::string& prefix, const std::string& db_id, uint64_t seq) {
  return prefix + "checkpoints/" + db_id + "/" + Pad20(seq) + "/";
}
std::string SstKey(const std::string& prefix, const std::string& db_id, const std::string& name) {
  return prefix + "sst/" + db_id + "/" + name;
}

std::string EncodeLatest(const LatestRecord& r) {
  return std::string(kLatestMagic) + "\ndb " + r.db_id + "\nseq " + std::to_string(r.seq) +
         "\nlog_after " + (r.log_after.empty() ? "-" : r.log_after) + "\nfiles " + r.files_key +
         "\n";
}

Result<LatestRecord> DecodeLatest(std::string_view text, const std::string& what) {
  std::istringstream in{std::string(text)};
  std::string line;
  if (!std::getline(in, line) || line != kLatestMagic) {
    return Status::Corruption(what + ": not a dcmfs index LATEST record");
  }
  LatestRecord r;
  bool has_seq = false;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) return Status::Corruption(what + ": malformed line");
    const std::string field = line.substr(0, space), value = line.substr(space + 1);
    if (field == "db") r.db_id = value;
    if (field == "seq") has_seq = ParseU64(value, &r.seq);
    if (field == "log_after") r.log_after = value == "-" ? "" : value;
    if (field == "files") r.files_key = value;
  }
  if (r.db_id.empty() || !has_seq || r.files_key.empty()) {
    return Status::Corruption(what + ": db, seq or files missing");
  }
  return r;
}

std::string EncodeFiles(const std::vector<CheckpointFile>& files) {
  std::string out;
  for (const CheckpointFile& f : files) {
    out += f.name + " " + std::to_string(f.size) + " " + f.key + "\n";
  }
  return out;
}

Result<std::vector<CheckpointFile>> DecodeFiles(std::string_view text, const std::string& what) {
  std::istringstream in{std::string(text)};
  std::string line;
  std::vector<CheckpointFile> files;
  while (std::getline(in, line)) {
    CheckpointFile f;
    std::string size;
    std::istringstream fields(line);
    if (!(fields >> f.name >> size >> f.key) || !ParseU64(size, &f.size) ||
        f.name.find('/') != std::string::npos || f.name == "." || f.name == "..") {
      return Status::Corruption(what + ": malformed line '" + line + "'");
    }
    files.push_back(std::move(f));
  }
  if (files.empty()) return Status::Corruption(what + ": lists no files");
  return files;
}

namespace {

// Inflates a log object's compressed body, frame by frame as its seek table
// says, refusing tables that claim more than kMaxLogBody (memory stays
// bounded whatever a damaged or hostile object claims).
Result<std::string> Inflate(std::string_view z, const std::string& what) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(z.data()), z.size());
  if (bytes.size() < kSeekFooterSize) return Status::Corruption(what + ": truncated body");
  ASSIGN_OR_RETURN(uint64_t table_len,
                   SeekTableLength(bytes.subspan(bytes.size() - kSeekFooterSize), bytes.size()));
  if (table_len > bytes.size()) return Status::Corruption(what + ": bad seek table");
  ASSIGN_OR_RETURN(SeekTable table,
                   ParseSeekTable(bytes.subspan(bytes.size() - table_len), bytes.size()));
  if (table.decompressed_size > kMaxLogBody) {
    return Status::Corruption(what + ": claims " + std::to_string(table.decompressed_size) +
                              " bytes, more than a log object holds");
  }
  std::string out;
  for (const SeekTable::Frame& f : table.frames) {
    if (f.compressed_offset + f.compressed_size > table.table_offset) {
      return Status::Corruption(what + ": frame outside the body");
    }
    ASSIGN_OR_RETURN(std::string frame,
                     DecompressFrame(bytes.subspan(f.compressed_offset, f.compressed_size),
                                     f.decompressed_size));
    out += frame;
  }
  return out;
}

}  // namespace

std::string EncodeLogObject(const LogObject& object) {
  std::string body;
  std::string* out = &body;
  PutFixed(out, object.families.size(), 4);
  for (const auto& [id, name] : object.families) {
    PutFixed(out, id, 4);
    PutFixed(out, name.size(), 4);
    *out += name;
  }
  PutFixed(out, object.records.size(), 4);
  for (const LogRecord& r : object.records) {
    PutFixed(out, r.seq, 8);
    PutFixed(out, r.count, 4);
    PutFixed(out, r.rep.size(), 4);
    *out += r.rep;
  }
  // Batches are repetitive (keys, CBOR field names): zstd makes them ~8x
  // smaller (bench/index_size.sh), which every reader downloads.
  std::string encoded(kLogMagic);
  encoded += CompressSeekable({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  const Digest d = Sha256(encoded);
  encoded.append(reinterpret_cast<const char*>(d.data()), d.size());
  return encoded;
}

Result<LogObject> DecodeLogObject(std::string_view bytes, const std::string& what) {
  if (bytes.size() < kLogMagic.size() + kDigestSize ||
      bytes.substr(0, kLogMagic.size()) != kLogMagic) {
    return Status::Corruption(what + ": not a dcmfs index log object");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kDigestSize);
  const Digest d = Sha256(body);
  if (std::memcmp(d.data(), bytes.data() + body.size(), kDigestSize) != 0) {
    return Status::Corruption(what + ": checksum mismatch (object cut or altered)");
  }
  ASSIGN_OR_RETURN(const std::string inflated, Inflate(body.substr(kLogMagic.size()), what));
  Reader in(inflated);
  LogObject object;
  uint64_t n = 0;
  if (!in.Fixed(4, &n)) return Status::Corruption(what + ": truncated family table");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0, len = 0;
    std::string name;
    if (!in.Fixed(4, &id) || !in.Fixed(4, &len) || !in.Bytes(len, &name)) {
      return Status::Corruption(what + ": truncated family table");
    }
    object.families[static_cast<uint32_t>(id)] = std::move(name);
  }
  if (!in.Fixed(4, &n)) return Status::Corruption(what + ": truncated record count");
  uint64_t expected_seq = 0;
  for (uint64_t i = 0; i < n; ++i) {
    LogRecord r;
    uint64_t count = 0, len = 0;
    if (!in.Fixed(8, &r.seq) || !in.Fixed(4, &count) || !in.Fixed(4, &len) ||
        !in.Bytes(len, &r.rep)) {
      return Status::Corruption(what + ": truncated record " + std::to_string(i));
    }
    r.count = static_cast<uint32_t>(count);
    if (r.count == 0 || (i > 0 && r.seq != expected_seq)) {
      return Status::Corruption(what + ": records out of sequence at " + std::to_string(r.seq));
    }
    expected_seq = r.seq + r.count;
    object.records.push_back(std::move(r));
  }
  if (!in.done()) return Status::Corruption(what + ": trailing bytes");
  if (object.records.empty()) return Status::Corruption(what + ": no records");
  return object;
}

}  // namespace dcmfs::internal
