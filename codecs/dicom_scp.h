// A DICOM Storage SCP with Verification (PS3.4 Annex A and B) on DCMTK's
// network layer, behind a plain callback: each received instance is written
// as a Part 10 file (the sender's bytes, with a File Meta header) to a
// temporary path and handed to a StoreHandler; the C-STORE response is sent
// only after the handler returns, with a status derived from its result. So a
// handler that returns Ok once the instance is durable makes "Success" mean
// "stored".
//
// Several associations are served at once, one thread each (bounded by
// max_associations; more are rejected with "local limit exceeded"). A sender
// that drops the connection mid-transfer never reaches the handler: its
// partial file is deleted.
//
// Accepted: Verification, every storage SOP class DCMTK knows, and abstract
// syntaxes DCMTK does not know at all (private storage SOP classes of
// vendors), each with the transfer syntaxes dcmfs decodes (kScpTransferSyntaxes
// in the .cc). Known non-storage services (Query/Retrieve, ...) are refused.
//
// DCMTK types never appear here. Thread-safe: stats() may be called at any
// time; the handler is called concurrently from association threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs {

struct ScpOptions {
  uint16_t port = 11112;
  // Our AE title (answered in the A-ASSOCIATE-AC). The called AE title of a
  // request is not checked: senders configured with another title still get
  // through, as with most archives.
  std::string ae_title = "DCMFS";
  // Calling AE titles allowed to associate; empty = everyone. Others are
  // rejected at association (PS3.8 9.3.4: "calling-AE-title-not-recognized").
  std::vector<std::string> allowed_calling_aets;
  // Where received files are written before the handler sees them. Must exist.
  std::string temp_dir;
  int max_associations = 32;
  int acse_timeout_s = 30;   // association negotiation and release
  int idle_timeout_s = 60;   // no command or data for this long: association aborted
  uint32_t max_pdu_bytes = 131072;  // the largest PDU we announce (DCMTK's maximum)
};

// One received instance, complete: the sender's dataset bytes as received,
// preceded by a File Meta Information header (PS3.10 7.1).
struct ReceivedInstance {
  std::string path;  // deleted by the SCP after the handler returns
  uint64_t size = 0;
  std::string calling_aet;
  std::string peer_address;
  std::string sop_class_uid;     // Affected SOP Class UID of the C-STORE request
  std::string sop_instance_uid;  // Affected SOP Instance UID
  std::string transfer_syntax;   // of the accepted presentation context
};

// The handler's result decides the C-STORE response status (PS3.4 B.2.3):
//   Ok                                            0000 Success
//   InvalidArgument, Corruption, DataLoss,
//   Unsupported, NotFound                         C000 Error: cannot understand
//   anything else (IoError, Busy, Internal, ...)  A700 Refused: out of resources
// The handler's message goes into the response's Error Comment (0000,0902).
using StoreHandler = std::function<Status(const ReceivedInstance&)>;

struct ScpStats {
  uint64_t associations_accepted = 0;
  uint64_t associations_rejected = 0;  // AE title not allowed, over the limit, nothing acceptable
  uint64_t associations_active = 0;
  uint64_t echoes = 0;
  uint64_t stored = 0;          // handler returned Ok
  uint64_t store_failures = 0;  // handler returned an error
  uint64_t aborted_transfers = 0;  // the dataset did not arrive whole
  uint64_t bytes_received = 0;  // of complete instances
};

class StorageScp {
 public:
  // Binds the port and starts listening on a background thread. Errors:
  // InvalidArgument (no temp_dir, empty AE title or one over 16 characters),
  // IoError (port in use or not permitted), Internal (DCMTK dictionary).
  static Result<std::unique_ptr<StorageScp>> Start(const ScpOptions& options,
                                                   StoreHandler handler);
  virtual ~StorageScp() = default;

  // Stops accepting, lets every association finish the command it is in
  // (idle ones are aborted within a second), then returns. Idempotent; the
  // destructor calls it.
  virtual void Stop() = 0;
  virtual ScpStats stats() const = 0;
  virtual uint16_t port() const = 0;
};

}  // namespace dcmfs
