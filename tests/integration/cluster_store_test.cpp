// runtime::cluster_store against a real PostgreSQL: joins, leases on PostgreSQL's
// clock, fencing of a replaced process, and a ring that follows the up nodes.
#include <gtest/gtest.h>

#include <thread>

#include "runtime/cluster_store.hpp"
#include "runtime/migrations.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace expd::testing;
using namespace std::chrono_literals;

namespace {

runtime::node_identity node(const std::string& name, int port, int protocol = 1) {
  return {name, "127.0.0.1:" + std::to_string(port), "127.0.0.1:" + std::to_string(port + 1000),
          "test", protocol};
}

std::vector<std::string> names(const std::vector<runtime::cluster_node_row>& rows,
                               const std::string& state) {
  std::vector<std::string> out;
  for (auto& r : rows)
    if (r.state == state)
      out.push_back(r.node.name);
  return out;
}

} // namespace

TEST(cluster_store, the_ring_follows_the_nodes_that_are_up) {
  scratch_database db;
  runtime::migrate(db.url());
  runtime::cluster_store a{db.url(), 5000ms};
  runtime::cluster_store b{db.url(), 5000ms};
  EXPECT_EQ(a.reconcile().version, 0);
  auto n1 = a.join(node("n1", 7101), 0ms);
  auto n2 = b.join(node("n2", 7102), 0ms);
  EXPECT_NE(n1, n2);
  // Joining nodes are not owners yet.
  EXPECT_EQ(a.reconcile().members, std::vector<std::string>{});
  ASSERT_TRUE(a.set_state("n1", n1, "up"));
  auto ring = b.reconcile();
  EXPECT_EQ(ring.version, 1);
  EXPECT_EQ(ring.members, std::vector<std::string>{"n1"});
  ASSERT_TRUE(b.set_state("n2", n2, "up"));
  ring = a.reconcile();
  EXPECT_EQ(ring.version, 2);
  EXPECT_EQ(ring.members, (std::vector<std::string>{"n1", "n2"}));
  // Nothing changed: the version stays.
  EXPECT_EQ(b.reconcile().version, 2);
  ASSERT_TRUE(a.set_state("n1", n1, "draining"));
  ring = a.reconcile();
  EXPECT_EQ(ring.version, 3);
  EXPECT_EQ(ring.members, std::vector<std::string>{"n2"});
  a.release("n1", n1, 3);
  // An operator's drain reaches the node through its next renewal.
  EXPECT_EQ(b.drain("n2"), "up");
  EXPECT_EQ(b.renew("n2", n2, "{}"), "draining");
  EXPECT_EQ(b.drain("n9"), std::nullopt);
  EXPECT_EQ(a.cluster_id().size(), 36u);
  EXPECT_EQ(a.cluster_id(), b.cluster_id());
  auto rows = a.nodes();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].released_ring, 3);
  EXPECT_EQ(rows[0].state, "draining");
  EXPECT_GT(rows[0].lease_left_seconds, 3);
}

TEST(cluster_store, a_lease_that_runs_out_makes_the_node_down_and_fences_it) {
  scratch_database db;
  runtime::migrate(db.url());
  runtime::cluster_store a{db.url(), 300ms};
  runtime::cluster_store b{db.url(), 5000ms};
  auto n1 = a.join(node("n1", 7101), 0ms);
  auto n2 = b.join(node("n2", 7102), 0ms);
  ASSERT_TRUE(a.set_state("n1", n1, "up"));
  ASSERT_TRUE(b.set_state("n2", n2, "up"));
  EXPECT_EQ(b.reconcile().members, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(a.renew("n1", n1, R"({"requests_per_second":5})"), "up");
  std::this_thread::sleep_for(450ms); // n1 stops renewing: killed, or cut off
  b.renew("n2", n2, "{}");
  auto ring = b.reconcile();
  EXPECT_EQ(ring.members, std::vector<std::string>{"n2"});
  EXPECT_EQ(names(b.nodes(), "down"), std::vector<std::string>{"n1"});
  // A live node is not forgotten; a down one is, and then the ring never waits for it.
  EXPECT_EQ(b.forget("n2"), "up");
  EXPECT_EQ(b.nodes().size(), 2u);
  // Back from a partition, the old process learns it was replaced.
  EXPECT_EQ(a.renew("n1", n1, "{}"), std::nullopt);
  EXPECT_FALSE(a.set_state("n1", n1, "up"));
  // A restart takes the name again with a new incarnation.
  auto again = a.join(node("n1", 7101), 0ms);
  EXPECT_GT(again, n1);
  EXPECT_EQ(a.renew("n1", again, "{}"), "joining");
  EXPECT_EQ(a.set_state("n1", again, "left"), true);
  EXPECT_EQ(b.forget("n1"), "left");
  EXPECT_EQ(names(b.nodes(), "left"), std::vector<std::string>{});
  EXPECT_EQ(b.forget("n1"), std::nullopt);
}

TEST(cluster_store, a_name_held_by_a_live_node_elsewhere_is_refused) {
  scratch_database db;
  runtime::migrate(db.url());
  runtime::cluster_store a{db.url(), 5000ms};
  a.join(node("n1", 7101), 0ms);
  try {
    a.join(node("n1", 7109), 0ms);
    FAIL() << "a second n1 joined";
  } catch (const runtime::cluster_error& e) {
    EXPECT_NE(std::string{e.what()}.find("127.0.0.1:7101"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("--node-name"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.nodes().size(), 1u);
  EXPECT_EQ(a.nodes()[0].node.cluster_address, "127.0.0.1:7101");
}

TEST(cluster_store, a_restart_at_the_same_address_waits_for_its_old_lease) {
  scratch_database db;
  runtime::migrate(db.url());
  runtime::cluster_store a{db.url(), 400ms};
  auto first = a.join(node("n1", 7101), 0ms);
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(a.join(node("n1", 7101), 0ms), runtime::cluster_error);
  auto second = a.join(node("n1", 7101), 2000ms);
  EXPECT_GT(second, first);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
}

TEST(cluster_store, a_node_of_another_protocol_cannot_join) {
  scratch_database db;
  runtime::migrate(db.url());
  runtime::cluster_store a{db.url(), 5000ms};
  a.join(node("n1", 7101, 1), 0ms);
  try {
    a.join(node("n2", 7102, 2), 0ms);
    FAIL() << "n2 joined";
  } catch (const runtime::cluster_error& e) {
    EXPECT_NE(std::string{e.what()}.find("protocol 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.nodes().size(), 1u);
}
