#include "tests/integration/expd_process.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <pqxx/pqxx>

extern char** environ;

namespace expd::testing {

namespace {

// The URL of database `name` on the same server as `admin`.
std::string with_database(const std::string& admin, const std::string& name) {
  auto slash = admin.rfind('/');
  auto query = admin.find('?', slash);
  return admin.substr(0, slash + 1) + name
         + (query == std::string::npos ? "" : admin.substr(query));
}

bool send_all(int fd, const std::string& bytes) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until `count` whole replies have arrived (or the peer stops).
std::vector<http_reply> read_replies(int fd, std::size_t count) {
  std::string stream;
  std::vector<http_reply> replies;
  char buf[65536];
  while ((replies = parse_replies(stream)).size() < count) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    stream.append(buf, static_cast<std::size_t>(n));
  }
  replies.resize(count);
  return replies;
}

} // namespace

std::string expd_binary() {
  if (auto* env = std::getenv("EXPD_BINARY"))
    return env;
  return EXPD_BINARY_DEFAULT;
}

int spawn_expd(const std::vector<std::string>& args, const std::string& log_path, bool stdout_too) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text{std::string{"EXPD_ADMIN_TOKEN="} + expd_process::admin_token};
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string{*e}.rfind("EXPD_ADMIN_TOKEN=", 0) != 0)
      env_text.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_text)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  if (stdout_too)
    posix_spawn_file_actions_adddup2(&actions, 2, 1);
  pid_t pid = 0;
  auto failed = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (failed != 0)
    throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool eventually(const std::function<bool()>& check, int tries) {
  for (int i = 0; i < tries; ++i) {
    if (check())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return false;
}

std::string required_env(const char* name, const std::string& server) {
  auto* value = std::getenv(name);
  if (value == nullptr || *value == '\0')
    throw std::runtime_error(std::string{name} + " is not set: run the suite with deploy/test.sh, "
                             + "which starts " + server + " and sets it");
  return value;
}

scratch_database::scratch_database()
  : admin_url_(required_env("EXPD_TEST_PG_URL", "PostgreSQL")) {
  static int counter = 0;
  name_ = "expd_it_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  pqxx::connection conn{admin_url_};
  pqxx::nontransaction tx{conn};
  tx.exec("DROP DATABASE IF EXISTS " + name_);
  tx.exec("CREATE DATABASE " + name_);
  url_ = with_database(admin_url_, name_);
}

scratch_database::~scratch_database() {
  try {
    pqxx::connection conn{admin_url_};
    pqxx::nontransaction tx{conn};
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
    // A leftover scratch database is harmless; the next run's name differs.
  }
}

std::string scratch_database::scalar(const std::string& sql) const {
  pqxx::connection conn{url_};
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec(sql);
  if (rows.empty() || rows[0][0].is_null())
    return "";
  return rows[0][0].as<std::string>();
}

void scratch_database::allow_connections(bool allow) const {
  pqxx::connection conn{admin_url_};
  pqxx::nontransaction tx{conn};
  tx.exec("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS " + (allow ? "true" : "false"));
  // Client backends only: an autovacuum worker visiting the database counts as a
  // superuser process, which a non-superuser admin may not terminate.
  if (!allow)
    tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            + tx.quote(name_) + " AND backend_type = 'client backend' AND pid <> pg_backend_pid()");
}

int connect_to(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1
      || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int connect_loopback(int port) {
  return connect_to("127.0.0.1", port);
}

nlohmann::json http_reply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds read_after) {
  return raw_exchange("127.0.0.1", port, bytes, timeout, read_after);
}

std::string raw_exchange(const std::string& host, int port, const std::string& bytes,
                         std::chrono::milliseconds timeout, std::chrono::milliseconds read_after) {
  int fd = connect_to(host, port);
  if (fd < 0)
    return "";
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break; // the server may close early (413): read what it answered
    sent += static_cast<std::size_t>(n);
  }
  std::this_thread::sleep_for(read_after);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    auto n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

std::vector<http_reply> parse_replies(const std::string& stream) {
  std::vector<http_reply> out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    auto end = stream.find("\r\n\r\n", pos);
    if (end == std::string::npos || stream.compare(pos, 9, "HTTP/1.1 ") != 0)
      break;
    http_reply r;
    r.status = std::atoi(stream.c_str() + pos + 9);
    r.headers = stream.substr(pos, end - pos);
    std::size_t length = 0;
    auto cl = r.headers.find("Content-Length: ");
    if (cl != std::string::npos)
      length = static_cast<std::size_t>(std::atol(r.headers.c_str() + cl + 16));
    r.body = stream.substr(end + 4, length);
    pos = end + 4 + length;
    out.push_back(std::move(r));
  }
  return out;
}

http_connection::http_connection(int port, std::string host) : port_(port), host_(std::move(host)) {
}

http_connection::~http_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::vector<http_reply> http_connection::post_all(const std::string& path,
                                                  const std::vector<std::string>& bodies) {
  // Batches keep both sides' socket buffers from filling while neither reads.
  constexpr std::size_t batch = 64;
  std::vector<http_reply> out;
  for (std::size_t from = 0; from < bodies.size(); from += batch) {
    if (fd_ < 0) {
      fd_ = connect_to(host_, port_);
      timeval tv{10, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    auto to = std::min(bodies.size(), from + batch);
    std::string requests;
    for (auto i = from; i < to; ++i)
      requests += "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Content-Length: " + std::to_string(bodies[i].size()) + "\r\n\r\n" + bodies[i];
    std::vector<http_reply> replies(to - from);
    if (fd_ >= 0 && send_all(fd_, requests))
      replies = read_replies(fd_, to - from);
    if (replies.empty() || replies.back().status == 0) {
      ::close(fd_);
      fd_ = -1;
    }
    out.insert(out.end(), replies.begin(), replies.end());
  }
  return out;
}

expd_process::expd_process(const scratch_database& db, std::vector<std::string> extra_flags,
                           std::uint64_t descriptor_limit, process_site site)
  : db_(db), flags_(std::move(extra_flags)), descriptor_limit_(descriptor_limit),
    site_(std::move(site)) {
  port_ = free_port();
  log_path_ = "/tmp/expd_it_" + std::to_string(getpid()) + "_" + std::to_string(port_) + ".log";
  // The spool outlives restarts of this node, as a real node's var/spool does.
  spool_dir_ = "/tmp/expd_it_" + std::to_string(getpid()) + "_" + std::to_string(port_) + ".spool";
  archive_dir_ = "/tmp/expd_it_" + std::to_string(getpid()) + "_" + std::to_string(port_) + ".archive";
  std::filesystem::remove_all(spool_dir_);
  std::filesystem::remove_all(archive_dir_);
  start();
}

expd_process::~expd_process() {
  if (running())
    kill();
  std::filesystem::remove_all(spool_dir_);
  std::filesystem::remove_all(archive_dir_);
}

void expd_process::start() {
  // A second process on the same port would fail to listen while the first answered
  // the health check, and the first would outlive the test.
  if (running())
    throw std::logic_error("expd_process::start: already running (the constructor starts it)");
  std::vector<std::string> args{expd_binary(),
                                "--pg=" + (site_.pg_url.empty() ? db_.url() : site_.pg_url),
                                "--listen=" + site_.host + ":" + std::to_string(port_),
                                "--log-level=warn", "--spool-dir=" + spool_dir_,
                                "--archive=" + archive_dir_};
  args.insert(args.end(), flags_.begin(), flags_.end());
  if (descriptor_limit_ != 0) {
    auto limit = std::to_string(descriptor_limit_);
    args.insert(args.begin(), {"/usr/bin/prlimit", "--nofile=" + limit + ":" + limit, "--"});
  }
  args.insert(args.begin(), site_.prefix.begin(), site_.prefix.end());
  pid_ = spawn_expd(args, log_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      throw std::runtime_error("expd exited during start-up; see " + log_path_);
    }
    if (request("GET", "/health").status == 200)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  throw std::runtime_error("expd did not become healthy; see " + log_path_);
}

int expd_process::stop() {
  if (!running())
    return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void expd_process::kill() {
  if (!running())
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
}

void expd_process::signal(int sig) const {
  if (running())
    ::kill(pid_, sig);
}

bool expd_process::wait_exit(std::chrono::milliseconds timeout, int* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    int raw = 0;
    if (waitpid(pid_, &raw, WNOHANG) == pid_) {
      pid_ = 0;
      if (status != nullptr)
        *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return true;
}

http_reply expd_process::request(const std::string& method, const std::string& path,
                                 const std::string& body, bool admin,
                                 const std::string& content_type) const {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!content_type.empty() && !body.empty())
    req += "Content-Type: " + content_type + "\r\n";
  if (admin)
    req += std::string{"Authorization: Bearer "} + admin_token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto replies = parse_replies(raw_exchange(site_.host, port_, req));
  return replies.empty() ? http_reply{} : replies.front();
}

http_reply expd_process::assign(const nlohmann::json& body) const {
  return request("POST", "/v1/assign", body.dump());
}

http_reply expd_process::apply(const nlohmann::json& doc, bool dry_run) const {
  return request("POST", std::string{"/admin/v1/experiments/apply"} + (dry_run ? "?dry_run=true" : ""),
                 doc.dump(), true);
}

http_reply expd_process::set_status(const std::string& name, const std::string& status) const {
  return request("POST", "/admin/v1/experiments/" + name + "/status",
                 nlohmann::json{{"status", status}}.dump(), true);
}

std::string expctl_path() {
  std::string expd = EXPD_BINARY_DEFAULT;
  return expd.substr(0, expd.rfind('/') + 1) + "expctl";
}

std::string error_code_and_field(const http_reply& reply) {
  auto e = reply.json()["error"];
  return e.value("code", "") + " " + e.value("field", "");
}

command_output run_expctl(const expd_process& node, const std::string& args) {
  return run_command(expctl_path() + " --server=http://127.0.0.1:" + std::to_string(node.port())
                     + " --token=" + expd_process::admin_token + " " + args + " 2>&1");
}

nlohmann::json spec_example(double control, double leftovers) {
  return {{"experiments",
           {{{"name", "planner_policy_exp"},
             {"unit_type", "user"},
             {"variants",
              {{{"name", "control"},
                {"allocation", control},
                {"config", {{"planner", "v1"}}}},
               {{"name", "leftovers_v2"},
                {"allocation", leftovers},
                {"config",
                 {{"planner", "v2"}, {"params", {{"exploration_rate", 0.2}}}}}}}}}}}};
}

} // namespace expd::testing
