#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../integration/expd_process.hpp"

namespace expd::testing {

/// The certificates deploy/cluster-certs.sh makes in a temporary folder (removed at the
/// end): the cluster CA and one certificate per node, plus foreign/ of another CA.
class cluster_certs {
public:
  cluster_certs();
  ~cluster_certs();
  cluster_certs(const cluster_certs&) = delete;
  cluster_certs& operator=(const cluster_certs&) = delete;

  /// Makes (once) the certificate of node `name`, of the cluster CA or of the foreign one.
  void make(const std::string& name, bool foreign = false) const;
  /// --cluster-cert, --cluster-key and --cluster-ca for `name` (make() it first).
  std::vector<std::string> flags(const std::string& name, bool foreign = false) const;
  const std::string& dir() const noexcept {
    return dir_;
  }

private:
  std::string dir_;
};

/// What a process that was expected to give up said: its exit status (-1: still running
/// at the deadline, then killed) and everything it wrote.
struct exit_report {
  int status = -1;
  std::string output;
};

/// Runs expd against `db` with `flags` (after --pg, --listen on a free port and a scratch
/// spool) until it exits or `timeout` passes.
exit_report run_expd_until_exit(const scratch_database& db, const std::vector<std::string>& flags,
                                std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// Where node i of an expd_cluster runs: by default its gateway and its link listen on
/// loopback here.
struct cluster_site {
  process_site process;                ///< its gateway's address, command prefix and --pg
  std::string link_host = "127.0.0.1"; ///< the address of its --cluster-listen
};

/// N expd nodes n1..nN of one cluster on free ports against `db`, linked with TLS
/// (certificates from cluster_certs). Node indexes start at 0; node 0 is the seed the
/// others join. Node i runs at sites[i] (the default site past the end).
class expd_cluster {
public:
  expd_cluster(const scratch_database& db, std::size_t nodes,
               std::vector<std::string> extra_flags = {}, std::vector<cluster_site> sites = {});

  std::size_t size() const noexcept {
    return nodes_.size();
  }
  expd_process& node(std::size_t i) {
    return *nodes_.at(i);
  }
  static std::string name(std::size_t i) {
    return "n" + std::to_string(i + 1);
  }
  /// host:port of node i's link.
  std::string cluster_address(std::size_t i) const {
    return site(i).link_host + ":" + std::to_string(cluster_ports_.at(i));
  }
  const cluster_certs& certs() const noexcept {
    return certs_;
  }

  /// GET /v1/cluster on node i (null when it does not answer 200).
  nlohmann::json describe(std::size_t i) const;
  /// Whether every running node sees every running node up and linked, and the ready
  /// slots sum to the ring's.
  bool ready() const;
  /// Waits until ready(); throws when it is not within `timeout`.
  void wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds{20}) const;

  /// POST /v1/assign of `unit` (unit type user, app_version 1.2.3) through node i: the
  /// response body ("" when none came).
  std::string assign(std::size_t i, const std::string& unit) const;
  /// Sends `sig` to node i; SIGKILL, SIGTERM and SIGINT also wait for it to end.
  void kill(std::size_t i, int sig);
  /// Starts node i again (as before, joining a running node) and waits for /health.
  void restart(std::size_t i);
  /// Starts one more node (joining a running one) and answers its index.
  std::size_t add();

private:
  std::vector<std::string> flags_for(std::size_t i) const;
  cluster_site site(std::size_t i) const {
    return i < sites_.size() ? sites_[i] : cluster_site{};
  }

  cluster_certs certs_;
  const scratch_database& db_;
  std::vector<std::string> extra_flags_;
  std::vector<cluster_site> sites_;
  std::vector<int> cluster_ports_;
  std::vector<std::unique_ptr<expd_process>> nodes_;
};

/// The snapshot version a node's registry serves (its /health); 0 when it does not say.
std::uint64_t snapshot_version(const expd_process& node);

/// Applies the example experiment through node 0, starts it, and waits until every
/// node serves it (they load it on NOTIFY). Fails the test otherwise.
void start_experiment(expd_cluster& c);

/// The body of POST /v1/assign for `unit` as expd_cluster::assign sends it.
std::string assign_body(const std::string& unit);

} // namespace expd::testing
