#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace expd::runtime {

/// A TCP socket bound to host:port and listening, non-blocking, with SO_REUSEADDR.
/// Opened before the actor system starts so a taken port fails start-up loudly.
/// Throws std::runtime_error naming the address.
int open_listen_socket(const std::string& host, std::uint16_t port);

/// Raises the soft RLIMIT_NOFILE to the hard limit (one connection is one descriptor)
/// and returns the soft limit then in force.
std::uint64_t raise_descriptor_limit();

/// One descriptor held in reserve, the "idle descriptor" trick. Out of descriptors,
/// accept() fails with EMFILE while the connection stays queued and the listening
/// socket stays readable: an event loop would spin on it and the client would hang.
/// shed() gives the spare up, accepts the queued connection, writes `answer` to it,
/// closes it and takes the spare back.
class descriptor_reserve {
public:
  descriptor_reserve();
  ~descriptor_reserve();
  descriptor_reserve(const descriptor_reserve&) = delete;
  descriptor_reserve& operator=(const descriptor_reserve&) = delete;

  /// Sheds one queued connection of `listen_fd`. False when the spare could not be
  /// taken back (another thread took the descriptor) or nothing could be accepted even
  /// with it: then only waiting helps, and the caller should stop accepting a while.
  bool shed(int listen_fd, std::string_view answer) noexcept;

private:
  int spare_ = -1;
};

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts
/// later, so they can be taken synchronously by wait_for_signal().
void block_control_signals();

/// Waits for SIGTERM, SIGINT (stop) or SIGHUP (read credentials again); returns its
/// number.
int wait_for_signal();

} // namespace expd::runtime
