// The Storage SCP on DCMTK's association (ASC_*) and message (DIMSE_*) layer.
//
// Why not DcmSCP/DcmSCPPool: their negotiation goes through an association
// profile, and DCMTK caps a profile's presentation-context list at 128
// entries (dcasccfg.h) while 3.6.7 knows 186 storage SOP classes, and a
// profile cannot accept a vendor's private SOP class. So this file does what
// DCMTK's storescp does (ASC_acceptContextsWithPreferredTransferSyntaxes over
// dcmAllStorageSOPClassUIDs) with a thread per association, as DcmSCPPool does.
//
// Per association (PS3.8 7.1, PS3.7 9.1.1/9.3.1):
//   A-ASSOCIATE-RQ -> calling AE check -> negotiation -> A-ASSOCIATE-AC
//   loop: C-ECHO-RQ -> RSP; C-STORE-RQ -> dataset to temp file -> handler -> RSP
//   until A-RELEASE-RQ (acknowledged), A-ABORT, an error or the idle timeout.
#include "codecs/dicom_scp.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcostrmf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dcmtrans.h>
#include <dcmtk/dcmnet/dul.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "codecs/internal/dcmtk_init.h"

namespace dcmfs {
namespace {

// The transfer syntaxes dcmfs decodes (codecs/pixel_decode.h), encapsulated
// ones first: ASC_acceptContextsWithPreferredTransferSyntaxes picks the first
// entry of this list that the sender proposed, and a sender offering its
// file's own compressed syntax besides Explicit VR Little Endian should keep
// its bytes (no decompression on the sender's side). HTJ2K (PS3.5 A.4.11)
// postdates DCMTK 3.6.7's UID table, hence literals.
const char* const kScpTransferSyntaxes[] = {
    UID_JPEG2000LosslessOnlyTransferSyntax,
    UID_JPEG2000TransferSyntax,
    "1.2.840.10008.1.2.4.201",  // HTJ2K Lossless
    "1.2.840.10008.1.2.4.202",  // HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203",  // HTJ2K
    UID_JPEGLSLosslessTransferSyntax,
    UID_JPEGLSLossyTransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGProcess14TransferSyntax,
    UID_JPEGProcess1TransferSyntax,
    UID_JPEGProcess2_4TransferSyntax,
    UID_RLELosslessTransferSyntax,
    UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_LittleEndianExplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
};
constexpr int kScpTransferSyntaxCount =
    static_cast<int>(sizeof(kScpTransferSyntaxes) / sizeof(kScpTransferSyntaxes[0]));

// PS3.4 B.2.3 and C.4.1.1.4 status codes.
constexpr Uint16 kStatusCannotUnderstand = 0xC000;
constexpr Uint16 kStatusOutOfResources = 0xA700;

Uint16 StoreStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return STATUS_Success;
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorruption:
    case StatusCode::kDataLoss:
    case StatusCode::kUnsupported:
    case StatusCode::kNotFound:
      return kStatusCannotUnderstand;
    default:
      return kStatusOutOfResources;
  }
}

std::string Text(const OFCondition& c) { return c.text() != nullptr ? c.text() : "?"; }

// Accepts proposed contexts whose abstract syntax DCMTK does not know at all:
// vendors' private storage SOP classes. Known non-storage services stay refused.
void AcceptUnknownStorageContexts(T_ASC_Parameters* params) {
  const int n = ASC_countPresentationContexts(params);
  for (int i = 0; i < n; ++i) {
    T_ASC_PresentationContext pc;
    if (ASC_getPresentationContext(params, i, &pc).bad()) continue;
    if (pc.resultReason == ASC_P_ACCEPTANCE) continue;
    if (dcmFindNameOfUID(pc.abstractSyntax) != nullptr) continue;
    for (int t = 0; t < kScpTransferSyntaxCount; ++t) {
      bool proposed = false;
      for (int p = 0; p < pc.transferSyntaxCount; ++p) {
        proposed = proposed || std::strcmp(pc.proposedTransferSyntaxes[p], kScpTransferSyntaxes[t]) == 0;
      }
      if (proposed) {
        if (ASC_acceptPresentationContext(params, pc.presentationContextID,
                                          kScpTransferSyntaxes[t]).good()) {
          break;
        }
      }
    }
  }
}

OFCondition Negotiate(T_ASC_Parameters* params) {
  const char* verification[] = {UID_VerificationSOPClass};
  OFCondition c = ASC_acceptContextsWithPreferredTransferSyntaxes(
      params, verification, 1, const_cast<const char**>(kScpTransferSyntaxes),
      kScpTransferSyntaxCount);
  if (c.bad()) return c;
  c = ASC_acceptContextsWithPreferredTransferSyntaxes(
      params, dcmAllStorageSOPClassUIDs, numberOfDcmAllStorageSOPClassUIDs,
      const_cast<const char**>(kScpTransferSyntaxes), kScpTransferSyntaxCount);
  if (c.bad()) return c;
  AcceptUnknownStorageContexts(params);
  return EC_Normal;
}

void Reject(T_ASC_Association* assoc, T_ASC_RejectParametersResult result,
            T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason) {
  T_ASC_RejectParameters rej{result, source, reason};
  ASC_rejectAssociation(assoc, &rej);
}

// DIMSE writes a PDU header and its body in two writes; with Nagle's
// algorithm on, the body waits for the peer's delayed ACK of the header (40 ms
// on Linux), which capped a C-STORE round trip near 90 ms (~11 instances/s
// on one association). Debian's DCMTK leaves Nagle on unless $TCP_NODELAY is
// set, so the SCP turns it off on every accepted socket itself.
// DcmTransportConnection::getSocket() is protected; a pointer to it formed
// in a derived class is the legal way to call it on a base object.
struct SocketOf : DcmTransportConnection {
  static DcmNativeSocketType Get(DcmTransportConnection& c) {
    auto getter = &SocketOf::getSocket;
    return (c.*getter)();
  }
};

int SocketFd(T_ASC_Association* assoc) {
  DcmTransportConnection* connection = DUL_getTransportConnection(assoc->DULassociation);
  return connection == nullptr ? -1 : SocketOf::Get(*connection);
}

void SetNoDelay(T_ASC_Association* assoc) {
  const int on = 1;
  if (setsockopt(SocketFd(assoc), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    DCMFS_LOG(Debug) << "scp: TCP_NODELAY: " << std::strerror(errno);
  }
}

// The sender's side has the same two-write pattern and, with Nagle on (the
// Debian default of storescu), holds each PDU body until we ACK its header.
// Quick-ACK mode makes that ACK immediate; Linux leaves the mode on its own,
// so it is asked for again before each message.
void QuickAck(T_ASC_Association* assoc) {
  const int on = 1;
  setsockopt(SocketFd(assoc), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

class ScpImpl final : public StorageScp {
 public:
  ScpImpl(const ScpOptions& options, StoreHandler handler, T_ASC_Network* net)
      : options_(options), handler_(std::move(handler)), net_(net) {
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ScpImpl() override { Stop(); }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopping_ = true;
    }
    if (acceptor_.joinable()) acceptor_.join();
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return active_ == 0; });
    for (std::thread& t : finished_) t.join();
    finished_.clear();
    stopped_ = true;
    lock.unlock();
    ASC_dropNetwork(&net_);
  }

  ScpStats stats() const override {
    ScpStats s;
    s.associations_accepted = accepted_;
    s.associations_rejected = rejected_;
    s.associations_active = active_now_;
    s.echoes = echoes_;
    s.stored = stored_;
    s.store_failures = store_failures_;
    s.aborted_transfers = aborted_;
    s.bytes_received = bytes_;
    return s;
  }
  uint16_t port() const override { return options_.port; }

 private:
  void AcceptLoop();
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  void RunAssociation(T_ASC_Association* assoc);
  bool Admit(T_ASC_Association* assoc);
  void Serve(T_ASC_Association* assoc);
  OFCondition HandleStore(T_ASC_Association* assoc, T_ASC_PresentationContextID pres_id,
                          T_DIMSE_C_StoreRQ& req);
  ReceivedInstance Describe(T_ASC_Association* assoc, T_ASC_PresentationContextID pres_id,
                            const T_DIMSE_C_StoreRQ& req, const std::string& path);

  const ScpOptions options_;
  const StoreHandler handler_;
  T_ASC_Network* net_;
  std::thread acceptor_;
  std::atomic<uint64_t> accepted_{0}, rejected_{0}, active_now_{0}, echoes_{0}, stored_{0},
      store_failures_{0}, aborted_{0}, bytes_{0}, temp_seq_{0};

  std::mutex mu_;
  std::condition_variable done_cv_;
  bool stopping_ = false;            // GUARDED_BY(mu_)
  bool stopped_ = false;             // GUARDED_BY(mu_)
  int active_ = 0;                   // GUARDED_BY(mu_): association threads running
  std::list<std::thread> running_;   // GUARDED_BY(mu_)
  std::vector<std::thread> finished_;  // GUARDED_BY(mu_): to join
};

// The acceptor polls with a 1 s timeout so that Stop() is noticed.
void ScpImpl::AcceptLoop() {
  while (!Stopping()) {
    {
      std::lock_guard lock(mu_);
      for (std::thread& t : finished_) t.join();
      finished_.clear();
    }
    T_ASC_Association* assoc = nullptr;
    OFCondition c = ASC_receiveAssociation(net_, &assoc, options_.max_pdu_bytes, nullptr, nullptr,
                                           OFFalse, DUL_NOBLOCK, 1);
    if (c == DUL_NOASSOCIATIONREQUEST) {
      ASC_destroyAssociation(&assoc);
      continue;
    }
    if (c.bad()) {
      DCMFS_LOG(Warning) << "scp: receiving an association request failed: " << Text(c);
      if (assoc != nullptr) {
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
      }
      continue;
    }
    SetNoDelay(assoc);
    std::lock_guard lock(mu_);
    if (active_ >= options_.max_associations) {
      ++rejected_;
      DCMFS_LOG(Warning) << "scp: rejecting an association: " << active_
                         << " running (max_associations)";
      Reject(assoc, ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
             ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
      ASC_dropAssociation(assoc);
      ASC_destroyAssociation(&assoc);
      continue;
    }
    ++active_;
    // The thread moves itself to finished_ when done; the list keeps its handle meanwhile.
    running_.emplace_back();
    auto it = std::prev(running_.end());
    *it = std::thread([this, assoc, it] {
      RunAssociation(assoc);
      std::lock_guard lock(mu_);
      finished_.push_back(std::move(*it));
      running_.erase(it);
      --active_;
      done_cv_.notify_all();
    });
  }
}

// Thread entry point: the one place an association thread catches (STYLE.md).
void ScpImpl::RunAssociation(T_ASC_Association* assoc) {
  ++active_now_;
  try {
    if (Admit(assoc)) Serve(assoc);
  } catch (const std::exception& e) {
    DCMFS_LOG(Error) << "scp: association failed: " << e.what();
    ASC_abortAssociation(assoc);
  }
  ASC_dropSCPAssociation(assoc);
  ASC_destroyAssociation(&assoc);
  --active_now_;
}

// Checks the calling AE title and negotiates; answers AC or RJ.
bool ScpImpl::Admit(T_ASC_Association* assoc) {
  const std::string calling = assoc->params->DULparams.callingAPTitle;
  const auto& allowed = options_.allowed_calling_aets;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), calling) == allowed.end()) {
    ++rejected_;
    DCMFS_LOG(Warning) << "scp: rejected calling AE title '" << calling << "' from "
                       << assoc->params->DULparams.callingPresentationAddress
                       << " (not in the allowed list)";
    Reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
           ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
    return false;
  }
  ASC_setAPTitles(assoc->params, nullptr, nullptr, options_.ae_title.c_str());
  char context[BUFSIZ];
  if (ASC_getApplicationContextName(assoc->params, context, sizeof(context)).bad() ||
      std::strcmp(context, UID_StandardApplicationContext) != 0) {
    ++rejected_;
    Reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
           ASC_REASON_SU_APPCONTEXTNAMENOTSUPPORTED);
    return false;
  }
  OFCondition c = Negotiate(assoc->params);
  if (c.bad() || ASC_countAcceptedPresentationContexts(assoc->params) == 0) {
    ++rejected_;
    DCMFS_LOG(Warning) << "scp: rejected an association from '" << calling
                       << "': no acceptable presentation context";
    Reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_NOREASON);
    return false;
  }
  c = ASC_acknowledgeAssociation(assoc);
  if (c.bad()) {
    DCMFS_LOG(Warning) << "scp: cannot acknowledge an association: " << Text(c);
    return false;
  }
  ++accepted_;
  DCMFS_LOG(Info) << "scp: association from '" << calling << "' ("
                  << assoc->params->DULparams.callingPresentationAddress << ") accepted";
  return true;
}

// The command loop. Waits in 1 s steps so that Stop() and the idle timeout are noticed.
void ScpImpl::Serve(T_ASC_Association* assoc) {
  int idle_s = 0;
  OFCondition c = EC_Normal;
  while (true) {
    T_ASC_PresentationContextID pres_id = 0;
    T_DIMSE_Message msg;
    std::memset(&msg, 0, sizeof(msg));
    QuickAck(assoc);
    c = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &pres_id, &msg, nullptr);
    if (c == DIMSE_NODATAAVAILABLE) {
      if (Stopping() || ++idle_s >= options_.idle_timeout_s) break;
      continue;
    }
    idle_s = 0;
    if (c.bad()) break;
    if (msg.CommandField == DIMSE_C_ECHO_RQ) {
      ++echoes_;
      c = DIMSE_sendEchoResponse(assoc, pres_id, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
    } else if (msg.CommandField == DIMSE_C_STORE_RQ) {
      c = HandleStore(assoc, pres_id, msg.msg.CStoreRQ);
    } else {
      DCMFS_LOG(Warning) << "scp: unsupported DIMSE command 0x" << std::hex << msg.CommandField
                         << std::dec << "; aborting the association";
      c = DIMSE_BADCOMMANDTYPE;
    }
    if (c.bad()) break;
  }
  if (c == DUL_PEERREQUESTEDRELEASE) {
    ASC_acknowledgeRelease(assoc);
  } else if (c != DUL_PEERABORTEDASSOCIATION) {
    ASC_abortAssociation(assoc);
  }
}

ReceivedInstance ScpImpl::Describe(T_ASC_Association* assoc, T_ASC_PresentationContextID pres_id,
                                   const T_DIMSE_C_StoreRQ& req, const std::string& path) {
  ReceivedInstance r;
  r.path = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) r.size = static_cast<uint64_t>(st.st_size);
  r.calling_aet = assoc->params->DULparams.callingAPTitle;
  r.peer_address = assoc->params->DULparams.callingPresentationAddress;
  r.sop_class_uid = req.AffectedSOPClassUID;
  r.sop_instance_uid = req.AffectedSOPInstanceUID;
  T_ASC_PresentationContext pc;
  if (ASC_findAcceptedPresentationContext(assoc->params, pres_id, &pc).good()) {
    r.transfer_syntax = pc.acceptedTransferSyntax;
  }
  return r;
}

// Receives the dataset straight into a file (bit-preserving, memory bounded
// by one PDU), hands it to the handler, answers with the handler's verdict.
OFCondition ScpImpl::HandleStore(T_ASC_Association* assoc, T_ASC_PresentationContextID pres_id,
                                 T_DIMSE_C_StoreRQ& req) {
  const std::string path = options_.temp_dir + "/scp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(++temp_seq_) + ".part";
  DcmOutputFileStream* out = nullptr;
  OFCondition c = DIMSE_createFilestream(path.c_str(), &req, assoc, pres_id, OFTrue, &out);
  if (c.bad()) {
    DCMFS_LOG(Error) << "scp: cannot create " << path << ": " << Text(c);
    return c;  // the association ends: we cannot take data we cannot keep
  }
  T_ASC_PresentationContextID data_pres_id = pres_id;
  QuickAck(assoc);
  c = DIMSE_receiveDataSetInFile(assoc, DIMSE_NONBLOCKING, options_.idle_timeout_s, &data_pres_id,
                                 out, nullptr, nullptr);
  delete out;  // closes the file
  if (c.bad() || data_pres_id != pres_id) {
    ::unlink(path.c_str());
    ++aborted_;
    DCMFS_LOG(Warning) << "scp: a C-STORE dataset did not arrive whole (" << Text(c)
                       << "); nothing kept";
    return c.bad() ? c : DIMSE_BADDATA;
  }
  ReceivedInstance instance = Describe(assoc, pres_id, req, path);
  Status s = Status::Internal("no handler");
  try {
    s = handler_(instance);
  } catch (const std::exception& e) {
    s = Status::Internal(std::string("store handler: ") + e.what());
  }
  ::unlink(path.c_str());
  T_DIMSE_C_StoreRSP rsp;
  std::memset(&rsp, 0, sizeof(rsp));
  rsp.DimseStatus = StoreStatusOf(s);
  DcmDataset* detail = nullptr;
  if (s.ok()) {
    ++stored_;
    bytes_ += instance.size;
  } else {
    ++store_failures_;
    DCMFS_LOG(Warning) << "scp: C-STORE from '" << instance.calling_aet
                       << "' refused: " << s.ToString();
    detail = new DcmDataset;
    // Error Comment is LO: at most 64 characters (PS3.7 C.4.1.1.4).
    detail->putAndInsertString(DCM_ErrorComment, s.message().substr(0, 64).c_str());
  }
  c = DIMSE_sendStoreResponse(assoc, pres_id, &req, &rsp, detail);
  delete detail;
  return c;
}

}  // namespace

Result<std::unique_ptr<StorageScp>> StorageScp::Start(const ScpOptions& options,
                                                      StoreHandler handler) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  if (options.temp_dir.empty()) return Status::InvalidArgument("scp: no folder for received files");
  if (options.ae_title.empty() || options.ae_title.size() > 16) {
    return Status::InvalidArgument("scp: the AE title must have 1 to 16 characters: '" +
                                   options.ae_title + "'");
  }
  if (options.max_associations < 1) return Status::InvalidArgument("scp: max_associations < 1");
  T_ASC_Network* net = nullptr;
  OFCondition c = ASC_initializeNetwork(NET_ACCEPTOR, options.port, options.acse_timeout_s, &net);
  if (c.bad()) {
    return Status::IoError("scp: cannot listen on port " + std::to_string(options.port) + ": " +
                           Text(c) + " (in use, or below 1024 without privileges)");
  }
  DCMFS_LOG(Info) << "scp: listening on port " << options.port << " as '" << options.ae_title
                  << "'";
  return std::unique_ptr<StorageScp>(new ScpImpl(options, std::move(handler), net));
}

}  // namespace dcmfs
