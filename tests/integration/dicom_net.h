// Helpers of the tests that talk DICOM to dcmfs with DCMTK's tools.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {

// A port nobody listens on now (the kernel's pick; small race, fine on a test box).
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Waits until the SCP on `port` (called DCMFS) answers a C-ECHO from
// `calling`, and returns whether it did: one accepted association. A mount's
// SCP starts just after the mount point appears (fs/fuse_main.cc starts the
// services once mounted), so a sender started at once can meet a refused
// connection; usually it answers at once, 30 s allows a loaded CI machine.
inline bool WaitForScpEcho(const std::string& port, const std::string& calling) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Shell("echoscu -aet " + calling + " -aec DCMFS 127.0.0.1 " + port).exit_code != 0) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

// storescu proposes only uncompressed syntaxes unless told; this profile
// proposes each syntax of the synthetic set in a context of its own, so that
// storescu sends every file in its own transfer syntax (no conversion).
inline constexpr char kStorescuConfig[] = R"([[TransferSyntaxes]]
[RLE]
TransferSyntax1 = RLELossless
[Deflated]
TransferSyntax1 = DeflatedLittleEndianExplicit
[ELE]
TransferSyntax1 = LittleEndianExplicit
[EBE]
TransferSyntax1 = BigEndianExplicit
[ILE]
TransferSyntax1 = LittleEndianImplicit

[[PresentationContexts]]
[Synthetic]
PresentationContext1 = CTImageStorage\RLE
PresentationContext2 = CTImageStorage\ELE
PresentationContext3 = CTImageStorage\ILE
PresentationContext4 = MRImageStorage\Deflated
PresentationContext5 = MRImageStorage\ELE
PresentationContext6 = MRImageStorage\EBE
PresentationContext7 = MRImageStorage\ILE

[[Profiles]]
[Synthetic]
PresentationContexts = Synthetic
)";

// Compares the datasets (what follows the File Meta header, inflated when
// deflated) of each "sent received" pair listed in `pairs_file`: the SCP
// writes its own File Meta header (PS3.10 7.1: the receiver's implementation
// UID, the source AE title), so whole files differ by design. Prints the
// pairs that differ, or the missing ones.
inline constexpr char kCompareDatasets[] = R"(
import struct, sys, zlib
def dataset(path):
    b = open(path, 'rb').read()
    assert b[128:132] == b'DICM', path
    n = struct.unpack('<I', b[140:144])[0]   # (0002,0000) group length
    meta, body = b[132:144 + n], b[144 + n:]
    if b'1.2.840.10008.1.2.1.99' in meta:
        body = zlib.decompress(body, -15)
    return body
bad = 0
for line in open(sys.argv[1]):
    sent, got = line.rstrip('\n').split('\t')
    try:
        same = dataset(sent) == dataset(got)
    except Exception as e:
        same = False
    if not same:
        bad += 1
        print('differs:', sent)
print('differing:', bad)
)";

// Writes the storescu profile into `dir`; returns its path.
inline std::string WriteStorescuConfig(const std::string& dir) {
  const std::string path = dir + "/storescu.cfg";
  WriteFileOrDie(path, kStorescuConfig);
  return path;
}

// storescu sending folders (appended by the caller) to 127.0.0.1:`port`.
inline std::string StorescuCommand(const std::string& dir, const std::string& calling,
                                   const std::string& port, const std::string& extra = "") {
  return "storescu " + extra + " -xf " + ShellQuote(WriteStorescuConfig(dir)) +
         " Synthetic -aet " + calling + " -aec DCMFS +sd +r 127.0.0.1 " + port;
}

// Empty when every file's dataset arrived unchanged at StudiesPath(mnt, f).
inline std::string DifferingDatasets(const std::string& dir, const std::vector<SyntheticFile>& files,
                                     const std::string& mnt) {
  std::string pairs;
  for (const SyntheticFile& f : files) pairs += f.path + "\t" + StudiesPath(mnt, f) + "\n";
  WriteFileOrDie(dir + "/pairs.txt", pairs);
  WriteFileOrDie(dir + "/compare.py", kCompareDatasets);
  CommandResult r = Shell("/usr/bin/python3 " + ShellQuote(dir + "/compare.py") + " " +
                          ShellQuote(dir + "/pairs.txt"));
  return r.output == "differing: 0\n" ? "" : r.output;
}

}  // namespace dcmfs::testing
