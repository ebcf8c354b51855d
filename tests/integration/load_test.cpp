// expctl load against a real expd: the closed and the open loop's JSON reports, several
// servers, and the flags and servers it must refuse without hanging.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

struct load_run {
  int exit_code = -1;
  std::string out;
  json report; // null when no --json was written
  double seconds = 0;
};

// `expctl load ARGS --json=...` with `server` (a --server value) and the test's token.
load_run load(const std::string& server, const std::string& args) {
  static int count = 0;
  std::string path = ::testing::TempDir() + "load_" + std::to_string(::getpid()) + "_"
                     + std::to_string(count++) + ".json";
  auto start = std::chrono::steady_clock::now();
  command_output out = run_command(expctl_path() + " --server=" + server + " --token="
                                   + expd_process::admin_token + " load " + args + " --json=" + path + " 2>&1");
  load_run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = WIFEXITED(out.status) ? WEXITSTATUS(out.status) : -1;
  run.out = out.out;
  std::string text = read_file(path);
  run.report = text.empty() ? json() : json::parse(text);
  std::remove(path.c_str());
  return run;
}

std::string url_of(const expd_process& node) {
  return "http://127.0.0.1:" + std::to_string(node.port());
}

// A loopback listener that never accepts (`garble` false: connections wait in its
// backlog, unanswered) or answers every read with bytes that are not HTTP.
class fake_server {
public:
  explicit fake_server(bool garble) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t length = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    if (garble)
      thread_ = std::thread([this] { answer_garbage(); });
  }
  ~fake_server() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
    ::close(fd_);
  }
  const std::string& url() const {
    return url_;
  }

private:
  void answer_garbage() {
    std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
    char buffer[4096];
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 50) <= 0)
        continue;
      for (std::size_t i = fds.size(); i-- > 1;) {
        if (fds[i].revents == 0)
          continue;
        if (::recv(fds[i].fd, buffer, sizeof buffer, 0) <= 0) {
          ::close(fds[i].fd);
          fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          static const std::string garbage = "SSH-2.0-nope\r\n\r\n";
          ::send(fds[i].fd, garbage.data(), garbage.size(), MSG_NOSIGNAL);
        }
      }
      if (fds[0].revents & POLLIN)
        fds.push_back({::accept(fd_, nullptr, nullptr), POLLIN, 0});
    }
    for (std::size_t i = 1; i < fds.size(); ++i)
      ::close(fds[i].fd);
  }

  int fd_ = -1;
  std::string url_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class load_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(node.apply(spec_example()).status, 200);
    ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  }
  scratch_database db;
  expd_process node{db};
};

} // namespace

TEST_F(load_test, a_closed_loop_reports_throughput_statuses_and_ordered_percentiles) {
  auto run = load(url_of(node), "--concurrency=4 --duration=1s --warmup=0.5s --context={\\\"app_version\\\":\\\"1.2.3\\\"}");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const json& r = run.report;
  ASSERT_TRUE(r.is_object()) << run.out;
  EXPECT_EQ(r["mode"], "closed_loop");
  EXPECT_EQ(r["concurrency"], 4);
  EXPECT_EQ(r["connections"], 4);
  std::uint64_t completed = r["completed"];
  EXPECT_GT(completed, 0u);
  EXPECT_EQ(r["succeeded"], completed);
  EXPECT_EQ(r["statuses"], (json{{"200", completed}})) << r.dump();
  EXPECT_EQ(r["errors"]["total"], 0) << r.dump();
  EXPECT_GE(r["sent"].get<std::uint64_t>(), completed);
  EXPECT_LE(r["sent"].get<std::uint64_t>(), completed + 4); // at most the ones in flight
  EXPECT_DOUBLE_EQ(r["duration_s"], 1.0);
  EXPECT_NEAR(r["throughput_rps"].get<double>(), completed / 1.0, 1e-6 * completed);
  const json& l = r["latency_us"];
  EXPECT_GT(l["p50"].get<double>(), 0);
  EXPECT_LE(l["p50"], l["p90"]);
  EXPECT_LE(l["p90"], l["p99"]);
  EXPECT_LE(l["p99"], l["p99_9"]);
  EXPECT_LE(l["p99_9"], l["max"]);
  ASSERT_EQ(r["servers"].size(), 1u);
  EXPECT_EQ(r["servers"][0]["url"], url_of(node));
  EXPECT_EQ(r["servers"][0]["completed"], completed);
  // The text report says the same.
  EXPECT_NE(run.out.find("throughput  "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("200:" + std::to_string(completed)), std::string::npos) << run.out;
}

TEST_F(load_test, an_open_loop_keeps_its_rate) {
  auto run = load(url_of(node), "--rate=200 --duration=2s --warmup=0.5s --dist=zipf:1.1 --units=1000 "
                                "--experiments=planner_policy_exp");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const json& r = run.report;
  EXPECT_EQ(r["mode"], "open_loop");
  EXPECT_EQ(r["latency_from"], "due");
  EXPECT_EQ(r["scheduled"], 400);
  double completed = r["completed"];
  EXPECT_NEAR(completed, 400, 40) << r.dump();
  EXPECT_EQ(r["statuses"]["200"], r["completed"]);
  EXPECT_NEAR(r["throughput_rps"].get<double>(), 200, 20);
}

TEST_F(load_test, connections_go_round_robin_and_errors_count_per_server) {
  // The same node twice, and a port nothing listens on.
  std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
  auto run = load(url_of(node) + "," + url_of(node) + "/," + dead,
                  "--concurrency=2 --connections=6 --threads=2 --duration=1s --warmup=0s");
  ASSERT_EQ(run.exit_code, 0) << run.out; // some succeeded
  const json& servers = run.report["servers"];
  ASSERT_EQ(servers.size(), 3u) << run.report.dump();
  EXPECT_GT(servers[0]["completed"].get<int>(), 0);
  EXPECT_GT(servers[1]["completed"].get<int>(), 0);
  EXPECT_EQ(servers[2]["completed"], 0);
  EXPECT_GT(servers[2]["errors"]["connect_refused"].get<int>(), 0);
  EXPECT_EQ(servers[0]["errors"]["total"], 0);
  EXPECT_EQ(run.report["errors"]["total"], servers[2]["errors"]["total"]);
}

TEST(load, an_unreachable_server_counts_errors_and_fails_without_hanging) {
  std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
  auto run = load(dead, "--concurrency=4 --duration=1s --warmup=0s --timeout=1s");
  EXPECT_EQ(run.exit_code, 3) << run.out;
  EXPECT_LT(run.seconds, 5);
  EXPECT_EQ(run.report["completed"], 0);
  EXPECT_GT(run.report["errors"]["connect_refused"].get<int>(), 0) << run.report.dump();
  EXPECT_NE(run.out.find("no request succeeded"), std::string::npos) << run.out;
}

TEST(load, a_silent_server_times_out_and_a_garbling_one_is_malformed) {
  fake_server silent(false), garbling(true);
  auto quiet = load(silent.url(), "--concurrency=2 --duration=1s --warmup=0s --timeout=200ms");
  EXPECT_EQ(quiet.exit_code, 1) << quiet.out; // connected, nothing succeeded
  EXPECT_LT(quiet.seconds, 5);
  EXPECT_GT(quiet.report["errors"]["timeouts"].get<int>(), 0) << quiet.report.dump();
  EXPECT_EQ(quiet.report["completed"], 0);

  auto garbled = load(garbling.url(), "--concurrency=2 --duration=1s --warmup=0s");
  EXPECT_EQ(garbled.exit_code, 1) << garbled.out;
  EXPECT_GT(garbled.report["errors"]["malformed"].get<int>(), 0) << garbled.report.dump();
  EXPECT_EQ(garbled.report["completed"], 0);
  EXPECT_EQ(garbled.report["servers"][0]["errors"]["malformed"], garbled.report["errors"]["malformed"]);
}

TEST(load, bad_flags_are_refused_naming_the_flag) {
  const std::pair<std::string, std::string> cases[] = {
    {"--rate=100 --concurrency=4", "--rate (open loop) and --concurrency (closed loop) exclude each other"},
    {"--concurrency=4 --dist=zipf:abc", "--dist=zipf:abc"},
    {"--concurrency=4 --duration=forever", "--duration=forever"},
    {"--concurrency=4 --server2", "unknown option --server2"},
  };
  for (const auto& [args, message] : cases) {
    auto run = load("http://127.0.0.1:1", args);
    EXPECT_EQ(run.exit_code, 2) << args << ": " << run.out;
    EXPECT_NE(run.out.find(message), std::string::npos) << args << ": " << run.out;
    EXPECT_TRUE(run.report.is_null()) << args;
  }
  auto unparsable = load("http://[::1:80", "--concurrency=4");
  EXPECT_EQ(unparsable.exit_code, 2) << unparsable.out;
  EXPECT_NE(unparsable.out.find("--server=http://[::1:80: \"http://[::1:80\": an IPv6 address needs its closing ]"),
            std::string::npos)
    << unparsable.out;
}
