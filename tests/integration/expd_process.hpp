#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/run_command.hpp"

namespace expd::testing {

/// A loopback TCP port nothing listens on now.
int free_port();

using expd::test::command_output;
using expd::test::run_command;

/// The whole text of the file at `path` ("" when it cannot be read).
std::string read_file(const std::string& path);

/// Polls `check` every 100 ms until it holds (true) or `tries` polls have failed (false).
bool eventually(const std::function<bool()>& check, int tries = 300);

/// The value of environment variable `name`. Unset, it throws naming `server`, the one
/// deploy/test.sh starts and sets it for: outside that script the suite fails, never skips.
std::string required_env(const char* name, const std::string& server);

/// A scratch PostgreSQL database, created from EXPD_TEST_PG_URL (the server that
/// deploy/servers.sh starts) and dropped at the end.
class scratch_database {
public:
  scratch_database();
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  const std::string& url() const noexcept {
    return url_;
  }

  /// Runs `sql` and returns the first column of the first row as text ("" if none).
  std::string scalar(const std::string& sql) const;

  /// Cuts every client off this database and refuses new connections (`false`), or
  /// lets them in again (`true`): a database outage without stopping the shared server.
  void allow_connections(bool allow) const;

private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

struct http_reply {
  int status = 0; ///< 0: no reply (connection closed or timed out)
  std::string headers;
  std::string body;
  nlohmann::json json() const;
};

/// A blocking TCP connection to host:port (an IPv4 address), or -1.
int connect_to(const std::string& host, int port);
/// A blocking TCP connection to 127.0.0.1:port, or -1.
int connect_loopback(int port);

/// Sends raw bytes to host:port, waits `read_after`, reads until the peer closes or
/// `timeout`, and returns everything read.
std::string raw_exchange(const std::string& host, int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds{5},
                         std::chrono::milliseconds read_after = std::chrono::milliseconds{0});
/// raw_exchange to 127.0.0.1:port.
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds{5},
                         std::chrono::milliseconds read_after = std::chrono::milliseconds{0});

/// Splits a byte stream into the HTTP replies it holds (Content-Length framing).
std::vector<http_reply> parse_replies(const std::string& stream);

/// One keep-alive HTTP connection to host:port that pipelines its requests.
class http_connection {
public:
  explicit http_connection(int port, std::string host = "127.0.0.1");
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// POSTs each body to `path` (JSON) and answers the replies in order; a reply that did
  /// not come has status 0.
  std::vector<http_reply> post_all(const std::string& path, const std::vector<std::string>& bodies);

private:
  int port_;
  std::string host_;
  int fd_ = -1;
};

/// The expd under test: EXPD_BINARY, or the one built beside the tests.
std::string expd_binary();

/// Starts `args` (args[0]: the binary) with the test admin token, its stderr (and
/// stdout too when `stdout_too`) appended to `log_path`; answers the pid.
int spawn_expd(const std::vector<std::string>& args, const std::string& log_path,
               bool stdout_too = false);

/// Where an expd_process runs: by default on loopback in the test's network namespace.
struct process_site {
  std::string host = "127.0.0.1";  ///< the address of --listen, where requests go
  std::vector<std::string> prefix; ///< a command that execs expd (ip netns exec NAME)
  std::string pg_url;              ///< --pg, when not the database's own URL
};

/// A real expd process on a free port, against `db`.
class expd_process {
public:
  static constexpr const char* admin_token = "integration-test-admin-token";

  /// `descriptor_limit`, when not 0, is the soft and hard RLIMIT_NOFILE expd runs under
  /// (set by prlimit, which then execs expd: the pid stays expd's), as the site's prefix
  /// must too.
  explicit expd_process(const scratch_database& db, std::vector<std::string> extra_flags = {},
                        std::uint64_t descriptor_limit = 0, process_site site = {});
  ~expd_process();
  expd_process(const expd_process&) = delete;
  expd_process& operator=(const expd_process&) = delete;

  /// Starts (again) and waits until /health answers 200.
  void start();
  int pid() const noexcept {
    return pid_;
  }
  /// SIGTERM and wait; returns the exit status.
  int stop();
  /// SIGKILL and wait.
  void kill();
  /// Sends `sig` (SIGHUP: read credentials again) and returns at once.
  void signal(int sig) const;
  /// Waits up to `timeout` for the process to exit by itself (a failpoint); true once
  /// it has, with its status in `status` (128 + signal when killed).
  bool wait_exit(std::chrono::milliseconds timeout, int* status = nullptr);
  /// The extra flags of the next start().
  void set_flags(std::vector<std::string> extra_flags) {
    flags_ = std::move(extra_flags);
  }
  bool running() const noexcept {
    return pid_ > 0;
  }

  int port() const noexcept {
    return port_;
  }
  const std::string& host() const noexcept {
    return site_.host;
  }
  const std::string& log_path() const noexcept {
    return log_path_;
  }
  const std::string& spool_dir() const noexcept {
    return spool_dir_;
  }
  /// The local archive folder (unless the flags name another --archive).
  const std::string& archive_dir() const noexcept {
    return archive_dir_;
  }

  /// One request on its own connection (Connection: close).
  http_reply request(const std::string& method, const std::string& path,
                     const std::string& body = "", bool admin = false,
                     const std::string& content_type = "application/json") const;

  http_reply assign(const nlohmann::json& body) const;
  http_reply apply(const nlohmann::json& doc, bool dry_run = false) const;
  http_reply set_status(const std::string& name, const std::string& status) const;

private:
  const scratch_database& db_;
  std::vector<std::string> flags_;
  std::uint64_t descriptor_limit_ = 0;
  process_site site_;
  int port_ = 0;
  int pid_ = 0;
  std::string log_path_;
  std::string spool_dir_;
  std::string archive_dir_;
};

/// The expctl built beside expd.
std::string expctl_path();

/// An error answer's "CODE FIELD" ("invalid_policy policies[0].versions[1].mlflow_model_version").
std::string error_code_and_field(const http_reply& reply);

/// Runs expctl against `node` with its admin token and `args`; the output holds stderr
/// too.
command_output run_expctl(const expd_process& node, const std::string& args);

/// The onboarding spec's example experiment (config/experiments.example.yml) with plain
/// variant configs, so a test node needs no policies.
nlohmann::json spec_example(double control = 0.5, double leftovers = 0.5);

} // namespace expd::testing
