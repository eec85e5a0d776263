// A DICOM file larger than 4 GiB (an encapsulated multi-frame image, the
// only way DICOM exceeds 32-bit lengths) goes through ingest with bounded
// memory and reads back exactly through the mount at offsets past 4 GiB.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

constexpr uint64_t kFragment = 16ull << 20;
constexpr uint32_t kFrames = 260;  // 260 x 16 MiB = 4.06 GiB of pixel data

// Little-endian explicit-VR element writers (PS3.5 7.1.2).
void Put16(std::string& out, uint16_t v) { out.append({char(v & 255), char(v >> 8)}); }
void Put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char(v >> (8 * i)));
}
void Element(std::string& out, uint16_t group, uint16_t elem, const char* vr, std::string value) {
  if (value.size() % 2) value.push_back(std::strcmp(vr, "UI") == 0 ? '\0' : ' ');
  Put16(out, group);
  Put16(out, elem);
  out.append(vr, 2);
  if (!std::strcmp(vr, "OB") || !std::strcmp(vr, "UN")) {
    Put16(out, 0);
    Put32(out, static_cast<uint32_t>(value.size()));
  } else {
    Put16(out, static_cast<uint16_t>(value.size()));
  }
  out += value;
}
std::string U16(uint16_t v) {
  std::string s;
  Put16(s, v);
  return s;
}

// The byte at `offset` of fragment `frame`: depends on both, so a misplaced
// frame or a shifted offset shows.
inline char PatternByte(uint32_t frame, uint64_t offset) {
  return static_cast<char>((offset * 131 + frame * 7 + (offset >> 12)) & 0xff);
}

std::string WriteHugeDicom(const std::string& path) {
  const std::string ts = "1.2.840.10008.1.2.4.50", sc = "1.2.840.10008.5.1.4.1.1.7";
  const std::string sop = "2.25.4294967296001";
  std::string meta;
  Element(meta, 0x0002, 0x0001, "OB", std::string("\0\1", 2));
  Element(meta, 0x0002, 0x0002, "UI", sc);
  Element(meta, 0x0002, 0x0003, "UI", sop);
  Element(meta, 0x0002, 0x0010, "UI", ts);
  Element(meta, 0x0002, 0x0012, "UI", "2.25.1");
  std::string head(128, '\0');
  head += "DICM";
  std::string group_length;
  Put32(group_length, static_cast<uint32_t>(meta.size()));
  Element(head, 0x0002, 0x0000, "UL", group_length);
  head += meta;
  Element(head, 0x0008, 0x0016, "UI", sc);
  Element(head, 0x0008, 0x0018, "UI", sop);
  Element(head, 0x0008, 0x0060, "CS", "OT");
  Element(head, 0x0010, 0x0010, "PN", "Big^File");
  Element(head, 0x0010, 0x0020, "LO", "BIG4G");
  Element(head, 0x0020, 0x000D, "UI", "2.25.4294967296002");
  Element(head, 0x0020, 0x000E, "UI", "2.25.4294967296003");
  Element(head, 0x0020, 0x0011, "IS", "1");
  Element(head, 0x0020, 0x0013, "IS", "1");
  Element(head, 0x0028, 0x0002, "US", U16(1));
  Element(head, 0x0028, 0x0004, "CS", "MONOCHROME2");
  Element(head, 0x0028, 0x0008, "IS", std::to_string(kFrames));
  Element(head, 0x0028, 0x0010, "US", U16(4096));
  Element(head, 0x0028, 0x0011, "US", U16(4096));
  Element(head, 0x0028, 0x0100, "US", U16(8));
  Element(head, 0x0028, 0x0101, "US", U16(8));
  Element(head, 0x0028, 0x0102, "US", U16(7));
  Element(head, 0x0028, 0x0103, "US", U16(0));
  // Encapsulated Pixel Data (PS3.5 A.4): undefined length, an empty Basic
  // Offset Table item, one fragment item per frame, a sequence delimiter.
  Put16(head, 0x7FE0), Put16(head, 0x0010), head += "OB", Put16(head, 0), Put32(head, 0xFFFFFFFF);
  Put16(head, 0xFFFE), Put16(head, 0xE000), Put32(head, 0);

  std::ofstream out(path, std::ios::binary);
  out << head;
  std::string fragment(kFragment, '\0');
  for (uint32_t f = 0; f < kFrames; ++f) {
    std::string item;
    Put16(item, 0xFFFE), Put16(item, 0xE000), Put32(item, static_cast<uint32_t>(kFragment));
    out << item;
    for (uint64_t i = 0; i < kFragment; ++i) fragment[i] = PatternByte(f, i);
    out.write(fragment.data(), static_cast<std::streamsize>(fragment.size()));
  }
  std::string end;
  Put16(end, 0xFFFE), Put16(end, 0xE0DD), Put32(end, 0);
  out << end;
  EXPECT_TRUE(out.good());
  return "2.25.4294967296002/2.25.4294967296003/" + sop + ".dcm";
}

TEST(LargeFileTest, FileOver4GiBIngestsWithBoundedMemoryAndReadsBackExactly) {
  TempDir dir;
  const std::string source = dir.Sub("in/huge.dcm");
  std::filesystem::create_directories(dir.Sub("in"));
  const std::string rel = WriteHugeDicom(source);
  const uint64_t size = std::filesystem::file_size(source);
  ASSERT_GT(size, 4ull << 30);

  // Peak memory of the ingest process (GNU time's %M, KiB) must not follow the file's size.
  CommandResult ingest = Shell("/usr/bin/time -f 'maxrss=%M' " + Q(DcmfsBinary()) + " ingest " +
                               Q(dir.Sub("archive")) + " " + Q(dir.Sub("in")));
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  size_t at = ingest.output.find("maxrss=");
  ASSERT_NE(at, std::string::npos) << ingest.output;
  const uint64_t maxrss_kib = std::stoull(ingest.output.substr(at + 7));
  EXPECT_LT(maxrss_kib, 512u * 1024) << "ingest held the file in memory";

  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string file = mount.path() + "/studies/" + rel;
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);

  // Random-offset reads on both sides of 4 GiB and at the very end.
  const int fd = open(file.c_str(), O_RDONLY), src = open(source.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_GE(src, 0);
  const uint64_t four_gib = 4ull << 30;
  for (uint64_t off : std::initializer_list<uint64_t>{0, four_gib - 3, four_gib, four_gib + 12345678,
                                                      size - 100000, size - 7}) {
    std::string got(200000, '\0'), want(200000, '\0');
    const ssize_t n = pread(fd, got.data(), got.size(), static_cast<off_t>(off));
    const ssize_t m = pread(src, want.data(), want.size(), static_cast<off_t>(off));
    ASSERT_EQ(n, m) << off;
    EXPECT_TRUE(got == want) << "bytes differ at offset " << off;
  }
  close(fd);
  close(src);
  // The whole file, hashed by sha256sum on both sides.
  const std::string a = Shell("sha256sum < " + Q(source)).output.substr(0, 64);
  const std::string b = Shell("sha256sum < " + Q(file)).output.substr(0, 64);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace dcmfs::testing
