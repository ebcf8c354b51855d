#include "cluster_helpers.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace expd::testing {

cluster_certs::cluster_certs() {
  char tmpl[] = "/tmp/expd_cluster_certs_XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("cannot make a folder for the certificates");
  dir_ = tmpl;
}

cluster_certs::~cluster_certs() {
  std::filesystem::remove_all(dir_);
}

void cluster_certs::make(const std::string& name, bool foreign) const {
  auto script = std::string{EXPD_SOURCE_DIR} + "/deploy/cluster-certs.sh";
  auto out = run_command("bash " + script + " --dir " + dir_ + (foreign ? " --foreign " : " ")
                         + name + " 2>&1");
  if (out.status != 0)
    throw std::runtime_error("deploy/cluster-certs.sh failed: " + out.out);
}

std::vector<std::string> cluster_certs::flags(const std::string& name, bool foreign) const {
  auto dir = foreign ? dir_ + "/foreign" : dir_;
  return {"--cluster-cert=" + dir + "/" + name + ".pem", "--cluster-key=" + dir + "/" + name + ".key",
          "--cluster-ca=" + dir + "/ca.pem"};
}

exit_report run_expd_until_exit(const scratch_database& db, const std::vector<std::string>& flags,
                                std::chrono::milliseconds timeout) {
  auto tag = std::to_string(getpid()) + "_" + std::to_string(free_port());
  auto log = "/tmp/expd_refused_" + tag + ".log";
  auto spool = "/tmp/expd_refused_" + tag + ".spool";
  std::vector<std::string> args{expd_binary(), "--pg=" + db.url(),
                                "--listen=127.0.0.1:" + std::to_string(free_port()),
                                "--spool-dir=" + spool, "--archive=off"};
  args.insert(args.end(), flags.begin(), flags.end());
  auto pid = spawn_expd(args, log, true);
  exit_report report;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int raw = 0;
    if (waitpid(pid, &raw, WNOHANG) == pid) {
      report.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &raw, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  report.output = read_file(log);
  std::filesystem::remove(log);
  std::filesystem::remove_all(spool);
  return report;
}

expd_cluster::expd_cluster(const scratch_database& db, std::size_t nodes,
                           std::vector<std::string> extra_flags, std::vector<cluster_site> sites)
  : db_(db), extra_flags_(std::move(extra_flags)), sites_(std::move(sites)) {
  for (std::size_t i = 0; i < nodes; ++i) {
    certs_.make(name(i));
    cluster_ports_.push_back(free_port());
  }
  for (std::size_t i = 0; i < nodes; ++i)
    nodes_.push_back(std::make_unique<expd_process>(db_, flags_for(i), 0, site(i).process));
}

std::vector<std::string> expd_cluster::flags_for(std::size_t i) const {
  std::vector<std::string> flags{"--node-name=" + name(i), "--cluster-listen=" + cluster_address(i)};
  // A node joins the first other node that runs (none: it is the first).
  for (std::size_t j = 0; j < nodes_.size(); ++j)
    if (j != i && nodes_[j]->running()) {
      flags.push_back("--join=" + cluster_address(j));
      break;
    }
  auto tls = certs_.flags(name(i));
  flags.insert(flags.end(), tls.begin(), tls.end());
  flags.insert(flags.end(), extra_flags_.begin(), extra_flags_.end());
  return flags;
}

nlohmann::json expd_cluster::describe(std::size_t i) const {
  auto reply = nodes_.at(i)->request("GET", "/v1/cluster");
  if (reply.status != 200)
    return nullptr;
  return nlohmann::json::parse(reply.body, nullptr, false);
}

bool expd_cluster::ready() const {
  std::size_t running = 0;
  for (auto& n : nodes_)
    running += n->running();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->running())
      continue;
    auto view = describe(i);
    if (!view.is_object() || view["ring"]["members"].size() != running)
      return false;
    std::uint64_t slots_ready = 0;
    std::size_t up = 0;
    for (auto& n : view["nodes"]) {
      if (n["state"] != "up")
        continue;
      if (!n["linked"].get<bool>())
        return false;
      // Figures of an older ring may count slots the node has lost since; within one
      // ring a node's ready slots only grow.
      if (n["stats"].value("ring_version", std::uint64_t{0}) != view["ring"]["version"].get<std::uint64_t>())
        return false;
      ++up;
      slots_ready += n["stats"].value("slots_ready", std::uint64_t{0});
    }
    if (up != running || slots_ready != view["ring"]["slots"].get<std::uint64_t>())
      return false;
  }
  return true;
}

void expd_cluster::wait_ready(std::chrono::milliseconds timeout) const {
  if (!eventually([&] { return ready(); }, static_cast<int>(timeout.count() / 100))) {
    std::string views;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->running())
        views += "\n" + name(i) + ": " + describe(i).dump() + " (log " + nodes_[i]->log_path() + ")";
    throw std::runtime_error("the cluster did not become ready:" + views);
  }
}

std::string assign_body(const std::string& unit) {
  return nlohmann::json{{"unit_type", "user"}, {"unit_id", unit}, {"context", {{"app_version", "1.2.3"}}}}
    .dump();
}

std::string expd_cluster::assign(std::size_t i, const std::string& unit) const {
  return nodes_.at(i)->request("POST", "/v1/assign", assign_body(unit)).body;
}

void expd_cluster::kill(std::size_t i, int sig) {
  auto& n = *nodes_.at(i);
  if (sig == SIGKILL)
    n.kill();
  else if (sig == SIGTERM)
    n.stop();
  else if (sig == SIGINT) {
    n.signal(SIGINT);
    n.wait_exit(std::chrono::seconds{60});
  } else
    n.signal(sig);
}

void expd_cluster::restart(std::size_t i) {
  auto& n = *nodes_.at(i);
  n.set_flags(flags_for(i));
  n.start();
}

std::uint64_t snapshot_version(const expd_process& node) {
  auto health = nlohmann::json::parse(node.request("GET", "/health").body, nullptr, false);
  return health.is_object() ? health.value("snapshot_version", std::uint64_t{0}) : 0;
}

void start_experiment(expd_cluster& c) {
  ASSERT_EQ(c.node(0).apply(spec_example()).status, 200);
  ASSERT_EQ(c.node(0).set_status("planner_policy_exp", "running").status, 200);
  // Every node's registry at the running experiment, not only user-1's owner: a node
  // whose NOTIFY is late would otherwise answer its units without it at first.
  auto version = snapshot_version(c.node(0));
  for (std::size_t i = 0; i < c.size(); ++i)
    ASSERT_TRUE(eventually([&] { return snapshot_version(c.node(i)) >= version; }))
      << expd_cluster::name(i) << " serves snapshot " << snapshot_version(c.node(i))
      << ", not " << version;
  for (std::size_t i = 0; i < c.size(); ++i)
    ASSERT_TRUE(eventually([&] {
      return c.assign(i, "user-1").find("planner_policy_exp") != std::string::npos;
    })) << expd_cluster::name(i) << ": " << c.assign(i, "user-1");
}

std::size_t expd_cluster::add() {
  auto i = nodes_.size();
  certs_.make(name(i));
  cluster_ports_.push_back(free_port());
  nodes_.push_back(std::make_unique<expd_process>(db_, flags_for(i), 0, site(i).process));
  return i;
}

} // namespace expd::testing
