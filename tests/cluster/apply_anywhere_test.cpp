// Issue 11: experiments and event types applied on any node reach every node's shards
// and ingestion under one cluster-wide, increasing snapshot version, and the read
// endpoints answer alike whichever node is asked.
#include <gtest/gtest.h>

#include "../integration/event_helpers.hpp"
#include "cluster_helpers.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

// Every node's registry at `version` (or later).
bool all_at(expd_cluster& c, std::uint64_t version) {
  for (std::size_t i = 0; i < c.size(); ++i)
    if (snapshot_version(c.node(i)) < version)
      return false;
  return true;
}

// The experiments as an admin reads them through node i: the registry's documents.
json admin_list(expd_cluster& c, std::size_t i) {
  return c.node(i).request("GET", "/admin/v1/experiments", "", true).json();
}

} // namespace

TEST(cluster_apply, a_change_on_any_node_reaches_every_node_under_one_increasing_version) {
  scratch_database db;
  expd_cluster c{db, 3};
  c.wait_ready();
  auto start = snapshot_version(c.node(0));

  // Created on n2, started on n3, its event types on n1.
  auto created = c.node(1).apply(spec_example());
  ASSERT_EQ(created.status, 200) << created.body;
  auto v1 = created.json()["version"].get<std::uint64_t>();
  EXPECT_GT(v1, start);
  ASSERT_TRUE(eventually([&] { return all_at(c, v1); }));
  ASSERT_EQ(c.node(2).set_status("planner_policy_exp", "running").status, 200);
  auto v2 = snapshot_version(c.node(2));
  EXPECT_GT(v2, v1);
  ASSERT_TRUE(eventually([&] { return all_at(c, v2); }));
  auto types = c.node(0).request("POST", "/admin/v1/event-types/apply", event_types().dump(), true);
  ASSERT_EQ(types.status, 200) << types.body;
  auto v3 = snapshot_version(c.node(0));
  EXPECT_GT(v3, v2);
  ASSERT_TRUE(eventually([&] { return all_at(c, v3); }));
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(snapshot_version(c.node(i)), v3) << expd_cluster::name(i);

  // Every node's shards serve it: 300 units through each node alike.
  std::vector<std::string> bodies;
  for (int u = 0; u < 300; ++u)
    bodies.push_back(assign_body("apply-" + std::to_string(u)));
  std::vector<std::vector<http_reply>> answers;
  for (std::size_t i = 0; i < 3; ++i)
    answers.push_back(http_connection{c.node(i).port()}.post_all("/v1/assign", bodies));
  for (std::size_t k = 0; k < bodies.size(); ++k) {
    ASSERT_EQ(answers[0][k].status, 200) << answers[0][k].body;
    EXPECT_NE(answers[0][k].body.find("planner_policy_exp"), std::string::npos);
    for (std::size_t i = 1; i < 3; ++i)
      EXPECT_EQ(answers[i][k].body, answers[0][k].body) << expd_cluster::name(i) << " unit " << k;
  }

  // Every node's ingestion knows the event types applied on n1, and attaches the
  // variants units hold (events sent without "experiments") from whichever node owns
  // them.
  auto list = admin_list(c, 2);
  ids x{list["experiments"][0]["id"], list["experiments"][0]["variants"][0]["id"],
        list["experiments"][0]["variants"][1]["id"]};
  for (std::size_t i = 0; i < 3; ++i) {
    json batch{{"events", json::array()}};
    for (int u = 0; u < 20; ++u) {
      auto e = event(x, "apply-" + std::to_string(u));
      e.erase("experiments");
      batch["events"].push_back(e);
    }
    auto r = post(c.node(i), batch);
    ASSERT_EQ(r.status, 200) << expd_cluster::name(i) << ": " << r.body;
    EXPECT_EQ(r.json()["accepted"], 20) << r.body;
  }
  ASSERT_TRUE(eventually([&] { return stored(db) == "60"; })) << stored(db);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.events WHERE cardinality(experiment_ids) = 1"), "60");

  // The read endpoints answer alike.
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(admin_list(c, i), admin_list(c, 0)) << expd_cluster::name(i);
    EXPECT_EQ(c.node(i).request("GET", "/admin/v1/event-types", "", true).json(),
              c.node(0).request("GET", "/admin/v1/event-types", "", true).json());
    EXPECT_EQ(c.node(i).request("GET", "/v1/experiments/" + x.experiment + "/results").status,
              c.node(0).request("GET", "/v1/experiments/" + x.experiment + "/results").status);
  }
}
