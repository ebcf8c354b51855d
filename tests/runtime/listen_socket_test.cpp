#include "runtime/listen_socket.hpp"
#include "runtime/node_config.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

using namespace expd::runtime;

namespace {

std::uint16_t port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int connect_to(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Uses up every descriptor under a lowered soft limit; gives them and the limit back.
class descriptors_exhausted {
public:
  descriptors_exhausted() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    int probe = open("/dev/null", O_RDONLY);
    close(probe);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(probe) + 8; // a few above what is open now
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;)
      held_.push_back(fd);
  }
  ~descriptors_exhausted() {
    for (int fd : held_)
      close(fd);
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

private:
  rlimit saved_{};
  std::vector<int> held_;
};

} // namespace

TEST(listen_socket, connection_limit_fits_the_descriptor_limit) {
  EXPECT_EQ(fit_connection_limit(10000, 1048576), 10000u);
  EXPECT_EQ(fit_connection_limit(10000, 10000 + 73), 10000u);
  EXPECT_EQ(fit_connection_limit(10000, 10000 + 72), 9999u);
  EXPECT_EQ(fit_connection_limit(10000, 256), 256u - 73u);
  EXPECT_EQ(fit_connection_limit(10000, 73), 1u);
  EXPECT_EQ(fit_connection_limit(10000, 0), 1u);
}

TEST(listen_socket, the_soft_descriptor_limit_is_raised_to_the_hard_one) {
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_EQ(raise_descriptor_limit(), saved.rlim_max);
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_EQ(now.rlim_cur, saved.rlim_max);
  setrlimit(RLIMIT_NOFILE, &saved);
}

// Out of descriptors, accept() fails and the connection stays queued; shed() answers
// and closes it, so the queue drains and nothing is left to retry.
TEST(listen_socket, a_reserve_descriptor_sheds_what_cannot_be_accepted) {
  int listener = open_listen_socket("127.0.0.1", 0);
  int client = connect_to(port_of(listener));
  descriptor_reserve reserve;
  {
    descriptors_exhausted exhausted;
    EXPECT_LT(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC), 0);
    EXPECT_EQ(errno, EMFILE);
    EXPECT_TRUE(reserve.shed(listener, "HTTP/1.1 503 Service Unavailable\r\n\r\n"));
    EXPECT_TRUE(reserve.shed(listener, "unused")); // nothing queued is not a failure
  }
  EXPECT_LT(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK), 0);
  EXPECT_EQ(errno, EAGAIN); // drained: no connection left queued to spin on
  std::string got(64, '\0');
  pollfd p{client, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  got.resize(static_cast<std::size_t>(recv(client, got.data(), got.size(), 0)));
  EXPECT_EQ(got, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
  EXPECT_EQ(recv(client, got.data(), got.size(), 0), 0); // and closed
  close(client);
  close(listener);
}
