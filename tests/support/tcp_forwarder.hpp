#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace expd::testing {

/// Listens on `host` (a free port) and copies each connection's bytes both ways to and
/// from 127.0.0.1:`to_port`, on a thread of its own: lets a process in another network
/// namespace reach a server that listens on this namespace's loopback only.
class tcp_forwarder {
public:
  tcp_forwarder(const std::string& host, int to_port);
  ~tcp_forwarder();
  tcp_forwarder(const tcp_forwarder&) = delete;
  tcp_forwarder& operator=(const tcp_forwarder&) = delete;

  int port() const noexcept {
    return port_;
  }

  /// Connections made from now on go to 127.0.0.1:`to_port` (a server that was away
  /// comes back).
  void retarget(int to_port) noexcept {
    to_port_ = to_port;
  }

private:
  void run();

  int listener_ = -1;
  int wake_[2] = {-1, -1}; ///< the destructor writes to wake_[1] to end run()
  int port_ = 0;
  std::atomic<int> to_port_;
  std::thread thread_;
};

} // namespace expd::testing
