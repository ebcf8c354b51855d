#include "runtime/listen_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace expd::runtime {

int open_listen_socket(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto where = host + ":" + std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("cannot resolve " + where + ": " + gai_strerror(rc));
  std::string last_error = "no address";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      freeaddrinfo(found);
      return fd;
    }
    last_error = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  throw std::runtime_error("cannot listen on " + where + ": " + last_error);
}

std::uint64_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
}

namespace {

int open_spare() noexcept { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

} // namespace

descriptor_reserve::descriptor_reserve() : spare_(open_spare()) {}

descriptor_reserve::~descriptor_reserve() {
  if (spare_ >= 0)
    close(spare_);
}

bool descriptor_reserve::shed(int listen_fd, std::string_view answer) noexcept {
  if (spare_ >= 0) {
    close(spare_);
    spare_ = -1;
  }
  int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  const bool drained = fd >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED;
  if (fd >= 0) {
    // A fresh socket's send buffer is empty: the short answer goes out whole or not at all.
    [[maybe_unused]] auto sent = send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    close(fd);
  }
  spare_ = open_spare();
  return drained && spare_ >= 0;
}

namespace {

sigset_t control_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

} // namespace

void block_control_signals() {
  auto set = control_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_signal() {
  auto set = control_signals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

} // namespace expd::runtime
