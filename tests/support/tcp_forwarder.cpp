#include "tests/support/tcp_forwarder.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "../integration/expd_process.hpp"

namespace expd::testing {

namespace {

// One forwarded connection: bytes read from one side wait in its buffer until the
// other side takes them.
struct forwarded {
  int fd[2];
  std::string pending[2]; ///< pending[i]: read from fd[i], not yet written to the other
  bool open = true;
};

void nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Moves what side `from` has to the other; false once either side is closed or failed.
bool pump(forwarded& c, int from, short events, short other_events) {
  int to = 1 - from;
  if (events & (POLLIN | POLLHUP | POLLERR)) {
    char buf[65536];
    auto n = ::recv(c.fd[from], buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return false;
    if (n > 0)
      c.pending[from].append(buf, static_cast<std::size_t>(n));
  }
  if (!c.pending[from].empty() && (other_events & POLLOUT)) {
    auto n = ::send(c.fd[to], c.pending[from].data(), c.pending[from].size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return false;
    if (n > 0)
      c.pending[from].erase(0, static_cast<std::size_t>(n));
  }
  return true;
}

} // namespace

tcp_forwarder::tcp_forwarder(const std::string& host, int to_port) : to_port_(to_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1
      || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(listener_, 64) != 0 || ::pipe(wake_) != 0) {
    ::close(listener_);
    throw std::runtime_error("tcp_forwarder: cannot listen on " + host);
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  nonblocking(listener_);
  thread_ = std::thread{[this] { run(); }};
}

tcp_forwarder::~tcp_forwarder() {
  ::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_forwarder::run() {
  std::vector<forwarded> conns;
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (auto& c : conns)
      for (int i = 0; i < 2; ++i) {
        // Read a side only while its bytes have gone on, write one only when some wait.
        short events = c.pending[i].empty() ? POLLIN : 0;
        if (!c.pending[1 - i].empty())
          events |= POLLOUT;
        fds.push_back({c.fd[i], events, 0});
      }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      break;
    if (fds[0].revents != 0)
      break;
    for (std::size_t k = 0; k < conns.size(); ++k) {
      auto& c = conns[k];
      auto a = fds[2 + 2 * k].revents, b = fds[3 + 2 * k].revents;
      c.open = pump(c, 0, a, b) && pump(c, 1, b, a);
    }
    for (auto it = conns.begin(); it != conns.end();)
      if (!it->open) {
        ::close(it->fd[0]);
        ::close(it->fd[1]);
        it = conns.erase(it);
      } else {
        ++it;
      }
    if (fds[1].revents & POLLIN) {
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0)
        continue;
      int server = connect_loopback(to_port_);
      if (server < 0) {
        ::close(client);
        continue;
      }
      nonblocking(client);
      nonblocking(server);
      forwarded c;
      c.fd[0] = client;
      c.fd[1] = server;
      conns.push_back(std::move(c));
    }
  }
  for (auto& c : conns) {
    ::close(c.fd[0]);
    ::close(c.fd[1]);
  }
}

} // namespace expd::testing
