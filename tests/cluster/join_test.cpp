// Issue 11: nodes join a cluster over TLS (caf::openssl, certificates of one cluster CA)
// and answer alike; a node that may not join is refused with exit status 2 and a reason,
// and the running cluster does not notice.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "../integration/event_helpers.hpp"
#include "cluster_helpers.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

// The members and where they are, as a node describes them.
json members(const json& view) {
  json out = json::array();
  for (auto& n : view["nodes"])
    out.push_back({n["name"], n["cluster_address"], n["state"], n["incarnation"]});
  return out;
}

// Every body's answer through the node at `port`, as a client following the contract
// gets it: a 503 `unavailable` (a slot between owners; on a starved machine a lease
// renewal can come late) is asked again, a few times.
std::vector<http_reply> assign_all(int port, const std::vector<std::string>& bodies) {
  auto replies = http_connection{port}.post_all("/v1/assign", bodies);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::size_t> again;
    for (std::size_t u = 0; u < replies.size(); ++u)
      if (replies[u].status == 503 && replies[u].body.find("\"unavailable\"") != std::string::npos)
        again.push_back(u);
    if (again.empty())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    std::vector<std::string> retried;
    for (auto u : again)
      retried.push_back(bodies[u]);
    auto answers = http_connection{port}.post_all("/v1/assign", retried);
    for (std::size_t k = 0; k < again.size(); ++k)
      replies[again[k]] = answers[k];
  }
  return replies;
}

// Every one of 500 units is answered through every node, half of them by the other.
void expect_all_answered(expd_cluster& c) {
  std::vector<std::string> bodies;
  for (int u = 0; u < 500; ++u)
    bodies.push_back(assign_body("user-" + std::to_string(u)));
  for (std::size_t i = 0; i < c.size(); ++i) {
    auto replies = assign_all(c.node(i).port(), bodies);
    for (std::size_t u = 0; u < replies.size(); ++u)
      ASSERT_EQ(replies[u].status, 200) << expd_cluster::name(i) << ", user-" << u << ": "
                                        << replies[u].body;
  }
}

// Flags of a node named `name` that joins `join` with `tls` (its certificate flags).
std::vector<std::string> joiner(const std::string& name, const std::string& join,
                                std::vector<std::string> tls) {
  std::vector<std::string> flags{"--node-name=" + name,
                                 "--cluster-listen=127.0.0.1:" + std::to_string(free_port()),
                                 "--join=" + join};
  flags.insert(flags.end(), tls.begin(), tls.end());
  return flags;
}


// Two running nodes with the example experiment started, and how they looked then.
class cluster_join_running : public ::testing::Test {
protected:
  void SetUp() override {
    c.wait_ready();
    start_experiment(c);
    before = members(c.describe(0));
  }

  // After a refusal: both nodes answer as before, `unit` as `answer`, nothing moved.
  void expect_unharmed(const std::string& unit, const std::string& answer) {
    expect_all_answered(c);
    EXPECT_EQ(members(c.describe(0)), before);
    EXPECT_EQ(members(c.describe(1)), before);
    EXPECT_TRUE(c.ready());
    EXPECT_EQ(c.assign(0, unit), answer);
    EXPECT_EQ(c.assign(1, unit), answer);
  }

  scratch_database db;
  expd_cluster c{db, 2};
  json before;
};

} // namespace

TEST(cluster_join, three_tls_nodes_link_and_answer_every_unit_alike) {
  scratch_database db;
  expd_cluster c{db, 3};
  c.wait_ready();
  for (std::size_t i = 0; i < c.size(); ++i) {
    auto view = c.describe(i);
    ASSERT_EQ(view["nodes"].size(), 3u) << view.dump();
    for (auto& n : view["nodes"])
      EXPECT_TRUE(n["linked"].get<bool>()) << expd_cluster::name(i) << " sees " << n.dump();
  }
  start_experiment(c);

  std::vector<std::string> bodies;
  for (int u = 0; u < 10000; ++u)
    bodies.push_back(assign_body("user-" + std::to_string(u)));
  std::vector<std::vector<http_reply>> answers;
  for (std::size_t i = 0; i < c.size(); ++i)
    answers.push_back(assign_all(c.node(i).port(), bodies));
  std::size_t assigned = 0;
  for (std::size_t u = 0; u < bodies.size(); ++u) {
    ASSERT_EQ(answers[0][u].status, 200) << "unit " << u << ": " << answers[0][u].body;
    assigned += answers[0][u].body.find("variant_id") != std::string::npos;
    for (std::size_t i = 1; i < c.size(); ++i)
      ASSERT_EQ(answers[i][u].body, answers[0][u].body) << "unit user-" << u << " through "
                                                        << expd_cluster::name(i);
  }
  // Both variants take the whole range: every unit is in the experiment.
  EXPECT_EQ(assigned, bodies.size());
}

TEST_F(cluster_join_running, a_node_of_another_ca_or_without_certificates_is_refused) {
  auto answer = c.assign(1, "user-7");
  c.certs().make("rogue", true);
  auto join = c.cluster_address(0);
  auto own = c.certs().flags("rogue", true);

  // Its own CA: it trusts itself, the cluster does not (nor it the cluster).
  auto foreign = run_expd_until_exit(db, joiner("rogue", join, own));
  EXPECT_EQ(foreign.status, 2) << foreign.output;
  EXPECT_NE(foreign.output.find("TLS handshake"), std::string::npos) << foreign.output;
  EXPECT_NE(foreign.output.find("cluster CA"), std::string::npos) << foreign.output;

  // The cluster's CA but a certificate of another: found before it dials.
  auto mixed = run_expd_until_exit(db, joiner("rogue", join, {own[0], own[1], c.certs().flags("n1")[2]}));
  EXPECT_EQ(mixed.status, 2) << mixed.output;
  EXPECT_NE(mixed.output.find("is not signed by the cluster CA"), std::string::npos) << mixed.output;

  auto none = run_expd_until_exit(db, joiner("rogue", join, {}));
  EXPECT_EQ(none.status, 2) << none.output;
  EXPECT_NE(none.output.find("needs --cluster-cert, --cluster-key and --cluster-ca"),
            std::string::npos)
    << none.output;

  // A refused handshake once closed the healthy links too (cluster/node_link.cpp).
  expect_unharmed("user-7", answer);
}

// A certificate of the cluster's CA is not enough: it must name the node that shows it.
TEST_F(cluster_join_running, a_node_with_another_nodes_certificate_is_refused) {
  auto answer = c.assign(1, "user-5");
  auto impostor = run_expd_until_exit(db, joiner("n4", c.cluster_address(0), c.certs().flags("n2")));
  EXPECT_EQ(impostor.status, 2) << impostor.output;
  EXPECT_NE(impostor.output.find("node n4 (at 127.0.0.1:"), std::string::npos) << impostor.output;
  EXPECT_NE(impostor.output.find("shows a TLS certificate that names n2, not n4"), std::string::npos)
    << impostor.output;
  std::ostringstream log;
  log << std::ifstream{c.node(0).log_path()}.rdbuf();
  EXPECT_NE(log.str().find("node_link_refused"), std::string::npos);
  expect_unharmed("user-5", answer);
}

TEST(cluster_join, a_join_address_where_nothing_listens_is_refused) {
  scratch_database db;
  cluster_certs certs;
  certs.make("n1");
  auto nowhere = "127.0.0.1:" + std::to_string(free_port());
  auto refused = run_expd_until_exit(db, joiner("n1", nowhere, certs.flags("n1")));
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find("cannot link to the node at " + nowhere), std::string::npos)
    << refused.output;
  EXPECT_NE(refused.output.find("does it listen there"), std::string::npos) << refused.output;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.cluster_nodes"), "0");
}

TEST_F(cluster_join_running, a_name_in_use_at_another_address_is_refused_and_its_holder_serves_on) {
  auto answer = c.assign(1, "user-3");
  auto twin = run_expd_until_exit(db, joiner("n2", c.cluster_address(0), c.certs().flags("n2")));
  EXPECT_EQ(twin.status, 2) << twin.output;
  EXPECT_NE(twin.output.find("n2"), std::string::npos) << twin.output;
  EXPECT_NE(twin.output.find(c.cluster_address(1)), std::string::npos) << twin.output;

  expect_all_answered(c);
  EXPECT_EQ(members(c.describe(0)), before);
  EXPECT_TRUE(c.ready());
  EXPECT_EQ(c.node(1).request("GET", "/health").status, 200);
  EXPECT_EQ(c.assign(1, "user-3"), answer);
  EXPECT_EQ(c.assign(0, "user-3"), answer);
}

// Each node publishes its own figures with its lease renewal: requests/s, events/s and
// its queues move under load, and a down node's last figures stay, with their age.
TEST_F(cluster_join_running, every_node_reports_its_requests_events_and_queues) {
  auto x = prepare(c.node(0));
  std::atomic<bool> stop{false};
  std::thread load([&] {
    for (int k = 0; !stop; ++k) {
      auto i = static_cast<std::size_t>(k % 2);
      auto unit = "user-" + std::to_string(k % 500);
      c.assign(i, unit);
      post(c.node(i), json{{"events", json::array({event(x, unit)})}});
    }
  });
  auto moving = [](const json& n) {
    const json& s = n["stats"];
    return s.value("http_requests_per_second", 0.0) > 0
           && s.value("assign_requests_per_second", 0.0) > 0
           && s.value("events_accepted_per_second", 0.0) > 0;
  };
  bool both_move = eventually([&] {
    auto view = c.describe(0);
    std::size_t n = 0;
    for (auto& node : view.is_object() ? view["nodes"] : json::array())
      n += moving(node);
    return n == 2;
  });
  stop = true;
  load.join();
  ASSERT_TRUE(both_move) << c.describe(0).dump();
  auto seen_by_n2 = c.describe(1);
  for (auto& n : seen_by_n2["nodes"]) {
    for (auto* key : {"window_seconds", "assign_per_second", "pending_writes", "writer_queue",
                      "spool_backlog", "loader_queue", "archive_backlog", "slots_ready"})
      EXPECT_TRUE(n["stats"][key].is_number()) << key << " of " << n.dump();
    EXPECT_TRUE(n["stats"]["reported_at"].is_string()) << n.dump();
    ASSERT_TRUE(n["stats_age_seconds"].is_number()) << n.dump();
    EXPECT_LT(n["stats_age_seconds"].get<double>(), 2.0) << n.dump();
  }
  auto table = run_expctl(c.node(0), "cluster nodes");
  EXPECT_EQ(table.status, 0) << table.out;
  EXPECT_NE(table.out.find("EVENTS/S"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("STATS_AGE_S"), std::string::npos) << table.out;

  c.kill(1, SIGKILL);
  json n2;
  ASSERT_TRUE(eventually([&] {
    auto view = c.describe(0);
    for (auto& n : view.is_object() ? view["nodes"] : json::array())
      if (n["name"] == "n2")
        n2 = n;
    // Read as a number only once it is one: a throw here would end the wait early.
    return n2["state"] == "down" && n2["stats_age_seconds"].is_number()
           && n2["stats_age_seconds"].get<double>() > 1.0;
  })) << n2.dump();
  EXPECT_TRUE(n2["stats"]["http_requests_per_second"].is_number()) << n2.dump();
  EXPECT_TRUE(n2["stats"]["spool_backlog"].is_number()) << n2.dump();
}
