// Out of file descriptors, expd used to spin its I/O thread at 100% of a core while the
// connections it could not accept hung unanswered (10000 connections allowed against a
// 256 descriptor limit). Run under a small limit, it fits its connection limit to it,
// answers every connection and idles.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;

namespace {

constexpr std::uint64_t descriptor_limit = 128;
// runtime::fit_connection_limit for that limit: 128 - 64 reserved - 8 for /health - 1 spare.
constexpr int fitted_connections = 55;
constexpr int health_connections = 8;

// CPU seconds (user + system) that process `pid` has used.
double cpu_seconds(int pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  // The fields after the command name, which is in parentheses and may hold spaces;
  // utime and stime are fields 14 and 15 of the whole line.
  std::istringstream rest{stat.substr(stat.rfind(')') + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14)
      ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// What each connection got for `request`: the status of its first reply, or 0 for a
// close without one, or -1 for nothing by the deadline (a hang).
std::vector<int> statuses_for(const std::vector<int>& fds, const std::string& request) {
  for (int fd : fds)
    send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::vector<std::string> got(fds.size());
  std::vector<int> status(fds.size(), -1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    std::vector<pollfd> polled;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (status[i] == -1) {
        polled.push_back({fds[i], POLLIN, 0});
        index.push_back(i);
      }
    if (polled.empty() || std::chrono::steady_clock::now() > deadline)
      return status;
    poll(polled.data(), polled.size(), 100);
    for (std::size_t k = 0; k < polled.size(); ++k) {
      if (polled[k].revents == 0)
        continue;
      auto i = index[k];
      char buf[4096];
      auto n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0)
        got[i].append(buf, static_cast<std::size_t>(n));
      auto replies = parse_replies(got[i]);
      if (!replies.empty())
        status[i] = replies[0].status;
      else if (n == 0 || (n < 0 && errno != EAGAIN))
        status[i] = 0;
    }
  }
}

int count(const std::vector<int>& statuses, int status) {
  return static_cast<int>(std::count(statuses.begin(), statuses.end(), status));
}

} // namespace

TEST(descriptor_limit, connections_past_the_limit_are_answered_and_the_node_idles) {
  scratch_database db;
  expd_process node{db, {}, descriptor_limit};
  auto text = read_file(node.log_path());
  EXPECT_NE(text.find("\"connection_limit_lowered\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"effective_max_connections\":55"), std::string::npos) << text;

  std::vector<int> fds;
  for (int i = 0; i < 3 * static_cast<int>(descriptor_limit) / 2; ++i) {
    int fd = connect_loopback(node.port());
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  auto health = statuses_for(fds, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(count(health, -1), 0) << "connections left hanging";
  EXPECT_EQ(count(health, 200), fitted_connections + health_connections);
  EXPECT_EQ(count(health, 503) + count(health, 0),
            static_cast<int>(fds.size()) - fitted_connections - health_connections);

  // The connections taken for /health and /metrics answer nothing else.
  std::vector<int> kept;
  for (std::size_t i = 0; i < fds.size(); ++i)
    if (health[i] == 200)
      kept.push_back(fds[i]);
  auto other = statuses_for(kept, "GET /v1/assign HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(count(other, 405), fitted_connections);
  EXPECT_EQ(count(other, 503), health_connections);

  // Every connection it could keep still open, the node waits rather than spins.
  auto before = cpu_seconds(node.pid());
  std::this_thread::sleep_for(std::chrono::seconds{2});
  EXPECT_LT(cpu_seconds(node.pid()) - before, 1.0);

  for (int fd : fds)
    close(fd);
  EXPECT_TRUE(eventually([&] { return node.request("GET", "/health").status == 200; }));
}
