// Telling systemd how a Type=notify service is doing (sd_notify(3)): one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET. Without that
// variable (not started by systemd) it does nothing.
//
// Why not libsystemd's sd_notify(): the protocol is one sendto() and is
// documented as stable in sd_notify(3); carrying it here keeps dcmfs free of
// a link dependency on systemd for machines that do not run it.
#pragma once

#include <string_view>

namespace dcmfs::tools {

// E.g. "READY=1", "STOPPING=1", "STATUS=receiving on port 11112".
void NotifySystemd(std::string_view state);

}  // namespace dcmfs::tools
