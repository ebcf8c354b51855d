// Issue 11: a unit keeps its variant and an acknowledged event is kept through a drain,
// a SIGKILL under load and its restart, a stalled node, a fourth node joining, and a
// bucket move made just before a SIGKILL; buckets do not move while a node is down.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "../integration/event_helpers.hpp"
#include "cluster_helpers.hpp"

using namespace expd::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using answers = std::map<std::string, std::string>;

std::vector<std::string> units(int n, const std::string& prefix = "user-") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(prefix + std::to_string(i));
  return out;
}

// Every unit's answer through node i, on one pipelined connection; a reply other than
// 200 fails the test.
answers answers_through(expd_cluster& c, std::size_t i, const std::vector<std::string>& list) {
  std::vector<std::string> bodies;
  for (auto& u : list)
    bodies.push_back(assign_body(u));
  auto replies = http_connection{c.node(i).port()}.post_all("/v1/assign", bodies);
  answers out;
  for (std::size_t k = 0; k < list.size(); ++k) {
    EXPECT_EQ(replies[k].status, 200) << expd_cluster::name(i) << " " << list[k] << ": "
                                      << replies[k].body;
    out[list[k]] = replies[k].body;
  }
  return out;
}

std::size_t flips(const answers& before, const answers& after) {
  std::size_t n = 0;
  for (auto& [unit, body] : before)
    n += after.count(unit) == 0 || after.at(unit) != body;
  return n;
}


// Slots node `name` owns as node i sees the ring (-1 when it is not listed).
long slots_of(expd_cluster& c, std::size_t i, const std::string& name) {
  auto view = c.describe(i);
  if (!view.is_object())
    return -1;
  for (auto& n : view["nodes"])
    if (n["name"] == name)
      return n["slots_owned"].get<long>();
  return -1;
}

class cluster_failover : public ::testing::Test {
protected:
  void SetUp() override {
    c.wait_ready();
    start_experiment(c);
  }

  scratch_database db;
  expd_cluster c{db, 3};
};

} // namespace

TEST_F(cluster_failover, a_drained_node_hands_every_slot_over_and_no_unit_flips) {
  auto list = units(2000);
  auto before = answers_through(c, 0, list);
  auto drained = c.node(0).request("POST", "/admin/v1/cluster/nodes/n2/drain", "{}", true);
  ASSERT_EQ(drained.status, 200) << drained.body;
  ASSERT_TRUE(eventually([&] { return slots_of(c, 0, "n2") == 0 && slots_of(c, 2, "n2") == 0; }));
  ASSERT_TRUE(eventually([&] {
    auto view = c.describe(0);
    std::uint64_t ready = 0;
    for (auto& n : view["nodes"])
      if (n["state"] == "up")
        ready += n["stats"].value("slots_ready", std::uint64_t{0});
    return ready == 4096;
  }));
  // The drained node still answers as a gateway, like the others.
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(flips(before, answers_through(c, i, list)), 0u) << expd_cluster::name(i);
  EXPECT_EQ(c.node(0).request("POST", "/admin/v1/cluster/nodes/n9/drain", "{}", true).status, 404);
  EXPECT_EQ(c.node(0).request("POST", "/admin/v1/cluster/nodes/n2/drain", "{}", false).status, 401);
}

// The heart of it: kill the owner of a third of the units while clients keep asking.
// Meanwhile every answer is the unit's variant or a 503 with Retry-After, never
// another variant and never a hang; the survivors serve every unit within the lease
// plus a pass; the killed node's acknowledged events are all stored once it is back.
TEST_F(cluster_failover, sigkill_under_load_flips_no_unit_and_loses_no_acknowledged_event) {
  auto list = units(3000);
  auto before = answers_through(c, 0, list); // first-time: written behind when n2 dies
  auto x = prepare(c.node(1));
  json batch = json::object({{"events", json::array()}});
  for (int i = 0; i < 300; ++i)
    batch["events"].push_back(event(x, "user-" + std::to_string(i)));
  auto acked = post(c.node(1), batch);
  ASSERT_EQ(acked.status, 200) << acked.body;

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, refused_without_retry{0}, no_answer{0}, unavailable{0}, fine{0};
  std::thread load([&] {
    for (std::size_t k = 0; !stop; k = (k + 37) % list.size()) {
      auto& unit = list[k];
      auto r = c.node(k % 2 == 0 ? 0 : 2).request("POST", "/v1/assign", assign_body(unit));
      if (r.status == 200)
        (r.body == before[unit] ? fine : wrong)++;
      else if (r.status == 503)
        (r.headers.find("Retry-After") != std::string::npos ? unavailable : refused_without_retry)++;
      else
        no_answer++;
    }
  });
  std::this_thread::sleep_for(300ms);
  auto killed = std::chrono::steady_clock::now();
  c.kill(1, SIGKILL);
  ASSERT_TRUE(eventually([&] { return slots_of(c, 0, "n2") <= 0 && c.ready(); }, 100));
  auto took = std::chrono::steady_clock::now() - killed;
  std::this_thread::sleep_for(300ms);
  stop = true;
  load.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(refused_without_retry, 0);
  EXPECT_EQ(no_answer, 0);
  EXPECT_GT(fine, 0);
  EXPECT_GT(unavailable, 0); // the load did span the takeover
  // A lease (1 s) and a pass; the test allows for a loaded CI machine.
  EXPECT_LT(took, 5s) << std::chrono::duration<double>(took).count() << " s";
  for (auto i : {0, 2})
    EXPECT_EQ(flips(before, answers_through(c, i, list)), 0u);

  c.restart(1);
  c.wait_ready();
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(flips(before, answers_through(c, i, list)), 0u) << expd_cluster::name(i);
  EXPECT_TRUE(eventually([&] { return stored(db) == "300"; })) << stored(db);
}

// A node that cannot renew (here: stopped) loses its slots to the others; woken up, it
// answers no unit with a variant another node would not give, and joins again.
TEST_F(cluster_failover, a_stalled_node_never_answers_for_slots_others_took) {
  auto list = units(1000);
  auto before = answers_through(c, 0, list);
  c.kill(2, SIGSTOP);
  ASSERT_TRUE(eventually([&] { return slots_of(c, 0, "n3") <= 0; }, 100));
  c.kill(2, SIGCONT);
  std::size_t served = 0, wrong = 0;
  for (auto& unit : list) {
    auto r = c.node(2).request("POST", "/v1/assign", assign_body(unit));
    if (r.status == 200) {
      ++served;
      wrong += r.body != before[unit];
    } else {
      EXPECT_EQ(r.status, 503) << r.body;
    }
  }
  EXPECT_EQ(wrong, 0u) << served << " served";
  c.wait_ready();
  EXPECT_EQ(flips(before, answers_through(c, 2, list)), 0u);
}

TEST_F(cluster_failover, a_fourth_node_takes_about_a_quarter_of_the_slots_and_no_unit_flips) {
  auto list = units(2000);
  auto before = answers_through(c, 0, list);
  auto fourth = c.add();
  c.wait_ready();
  auto owned = slots_of(c, 0, expd_cluster::name(fourth));
  EXPECT_GT(owned, 4096 * 0.18);
  EXPECT_LT(owned, 4096 * 0.32);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(flips(before, answers_through(c, i, list)), 0u) << expd_cluster::name(i);
}

// A killed node's journal may hold rows PostgreSQL has not got; moving buckets then
// would flip those units, so it waits for the node (docs/cluster.md).
TEST_F(cluster_failover, buckets_do_not_move_while_a_node_is_down) {
  auto list = units(500);
  auto before = answers_through(c, 0, list);
  c.kill(2, SIGKILL);
  ASSERT_TRUE(eventually([&] { return slots_of(c, 0, "n3") <= 0 && c.ready(); }, 100));
  auto moved = c.node(0).apply(spec_example(0.3, 0.7));
  EXPECT_EQ(moved.status, 409) << moved.body;
  EXPECT_NE(moved.body.find("n3"), std::string::npos) << moved.body;
  EXPECT_EQ(flips(before, answers_through(c, 1, list)), 0u);
  c.restart(2);
  c.wait_ready();
  EXPECT_EQ(c.node(0).apply(spec_example(0.3, 0.7)).status, 200);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(flips(before, answers_through(c, i, list)), 0u) << expd_cluster::name(i);
}

namespace {

// The variant a reply gives (the body also carries the snapshot's configs).
std::string variant_of(const std::string& body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("assignments") || doc["assignments"].empty())
    return "";
  return doc["assignments"][0].value("variant_name", "");
}

} // namespace

// The case the write-behind alone gets wrong: units n2 assigned under the old buckets in
// its last milliseconds, not yet in PostgreSQL when it dies, would get the new buckets'
// variant from their new owner. The barrier before the move stores them first (and
// every first-time row of the experiment until each node installs the change).
TEST_F(cluster_failover, a_bucket_move_just_before_a_sigkill_flips_no_unit) {
  std::mutex mutex;
  std::map<std::string, std::string> first; // unit -> the variant first answered
  std::atomic<bool> stop{false};
  std::atomic<int> flipped{0}, other{0};
  auto ask = [&](std::size_t node, const std::string& unit) {
    auto r = c.node(node).request("POST", "/v1/assign", assign_body(unit));
    if (r.status != 200) {
      other += r.status != 503;
      return;
    }
    auto variant = variant_of(r.body);
    std::lock_guard<std::mutex> lock{mutex};
    auto [it, fresh] = first.emplace(unit, variant);
    flipped += !fresh && it->second != variant;
  };
  // New units all the time, through the two nodes that survive: a third of them are
  // n2's, first-time assignments written behind on n2.
  std::vector<std::thread> load;
  for (std::size_t t = 0; t < 2; ++t)
    load.emplace_back([&, t] {
      for (int k = 0; !stop; ++k)
        ask(t == 0 ? 0 : 2, "fresh-" + std::to_string(t) + "-" + std::to_string(k));
    });
  std::this_thread::sleep_for(500ms);
  auto apply_sent = std::chrono::steady_clock::now();
  auto moved = c.node(0).apply(spec_example(0.1, 0.9));
  auto applied = std::chrono::steady_clock::now();
  ASSERT_EQ(moved.status, 200) << moved.body;
  c.kill(1, SIGKILL);
  // The barrier's cost, for docs/cluster.md: the apply's time under this load.
  std::cout << "bucket move applied (barrier included) in "
            << std::chrono::duration<double, std::milli>(applied - apply_sent).count() << " ms\n";
  ASSERT_TRUE(eventually([&] { return slots_of(c, 0, "n2") <= 0 && c.ready(); }, 100));
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : load)
    t.join();
  EXPECT_EQ(flipped, 0);
  EXPECT_EQ(other, 0);
  std::map<std::string, std::string> asked;
  {
    std::lock_guard<std::mutex> lock{mutex};
    asked = first;
  }
  ASSERT_GT(asked.size(), 200u);
  auto recheck = [&](std::size_t node) {
    std::vector<std::string> list, bodies;
    for (auto& [unit, variant] : asked) {
      list.push_back(unit);
      bodies.push_back(assign_body(unit));
    }
    auto replies = http_connection{c.node(node).port()}.post_all("/v1/assign", bodies);
    std::size_t n = 0;
    for (std::size_t k = 0; k < list.size(); ++k) {
      EXPECT_EQ(replies[k].status, 200) << list[k] << ": " << replies[k].body;
      n += variant_of(replies[k].body) != asked[list[k]];
    }
    return n;
  };
  EXPECT_EQ(recheck(0), 0u) << "of " << asked.size();
  EXPECT_EQ(recheck(2), 0u) << "of " << asked.size();
  c.restart(1);
  c.wait_ready();
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(recheck(i), 0u) << expd_cluster::name(i) << " of " << asked.size();
}
