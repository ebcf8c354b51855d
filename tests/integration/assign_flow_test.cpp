// Apply, assign, change allocations, restart: the same answers, persisted once.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <thread>

#include "core/bucketing.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

json assign_body(const std::string& unit, json context = json::object()) {
  return {{"unit_type", "user"},
          {"unit_id", unit},
          {"context", context},
          {"requested_experiments", {"planner_policy_exp"}}};
}

// The variant name served to `unit`, or "" when none.
std::string variant_of(const expd_process& node, const std::string& unit) {
  auto reply = node.assign(assign_body(unit));
  EXPECT_EQ(reply.status, 200) << reply.body;
  auto doc = reply.json();
  if (doc["assignments"].empty())
    return "";
  return doc["assignments"][0]["variant_name"].get<std::string>();
}

void start_example(const expd_process& node, double control = 0.5, double leftovers = 0.5) {
  ASSERT_EQ(node.apply(spec_example(control, leftovers)).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
}

} // namespace

TEST(assign_flow, answers_in_the_onboarding_spec_shape) {
  scratch_database db;
  expd_process node{db};
  start_example(node);
  auto reply = node.request("POST", "/v1/assign",
                            R"({"unit_type":"user","unit_id":"user-123",
                                "context":{"app_version":"1.2.3"},
                                "requested_experiments":["planner_policy_exp"]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto doc = reply.json();
  ASSERT_EQ(doc["assignments"].size(), 1u);
  auto& a = doc["assignments"][0];
  EXPECT_EQ(a["experiment_id"], db.scalar("SELECT id FROM exp.experiments"));
  // Published vector: XXH64("planner_policy_exp:user-123") mod 10000 = 6043 >= 5000.
  EXPECT_EQ(a["variant_name"], "leftovers_v2");
  EXPECT_EQ(a["variant_id"],
            db.scalar("SELECT id FROM exp.variants WHERE name = 'leftovers_v2'"));
  EXPECT_EQ(a["config"], json::parse(R"({"planner":"v2",
                                          "params":{"exploration_rate":0.2}})"));
}

TEST(assign_flow, without_requested_experiments_every_matching_running_one_answers) {
  scratch_database db;
  expd_process node{db};
  auto doc = spec_example();
  doc["experiments"].push_back({{"name", "targeted"},
                                {"unit_type", "user"},
                                {"status", "running"},
                                {"condition", {{"country", {{"$in", {"US", "CA"}}}}}},
                                {"variants", {{{"name", "on"}, {"allocation", 1.0}}}}});
  doc["experiments"].push_back({{"name", "households_only"},
                                {"unit_type", "household"},
                                {"status", "running"},
                                {"variants", {{{"name", "on"}, {"allocation", 1.0}}}}});
  doc["experiments"].push_back({{"name", "still_draft"},
                                {"unit_type", "user"},
                                {"variants", {{{"name", "on"}, {"allocation", 1.0}}}}});
  ASSERT_EQ(node.apply(doc).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  auto names = [&](json context) {
    auto reply = node.assign({{"unit_type", "user"}, {"unit_id", "u1"}, {"context", context}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::vector<std::string> out;
    auto doc = reply.json();
    for (auto& a : doc["assignments"])
      out.push_back(a["experiment_name"]);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names({{"country", "US"}}),
            (std::vector<std::string>{"planner_policy_exp", "targeted"}));
  EXPECT_EQ(names({{"country", "FR"}}), (std::vector<std::string>{"planner_policy_exp"}));
}

TEST(assign_flow, sticky_through_allocation_changes_restarts_and_reapplies) {
  scratch_database db;
  expd_process node{db};
  start_example(node);
  std::map<std::string, std::string> first;
  for (int i = 0; i < 200; ++i) {
    auto unit = "user-" + std::to_string(i);
    first[unit] = variant_of(node, unit);
    auto bucket = expd::core::bucket_of("planner_policy_exp", unit);
    EXPECT_EQ(first[unit], bucket < 5000 ? "control" : "leftovers_v2") << unit;
  }

  // Shift almost everyone to leftovers_v2: the units already assigned must not move.
  ASSERT_EQ(node.apply(spec_example(0.1, 0.9)).status, 200);
  int would_move = 0;
  for (auto& [unit, variant] : first) {
    EXPECT_EQ(variant_of(node, unit), variant) << unit;
    auto bucket = expd::core::bucket_of("planner_policy_exp", unit);
    would_move += variant == "control" && bucket >= 1000;
  }
  ASSERT_GT(would_move, 40) << "the allocation change must move buckets for this to test stickiness";
  auto newcomer = "user-new-1";
  EXPECT_EQ(variant_of(node, newcomer),
            expd::core::bucket_of("planner_policy_exp", newcomer) < 1000 ? "control"
                                                                           : "leftovers_v2");

  // Restart: stickiness now comes from exp.assignments.
  ASSERT_EQ(node.stop(), 0);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), "201");
  node.start();
  for (auto& [unit, variant] : first)
    EXPECT_EQ(variant_of(node, unit), variant) << unit;

  // Re-applying the same YAML changes nothing.
  auto again = node.apply(spec_example(0.1, 0.9));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["experiments"][0]["action"], "unchanged");
  for (auto& [unit, variant] : first)
    EXPECT_EQ(variant_of(node, unit), variant) << unit;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), "201");
}

TEST(assign_flow, assignments_are_written_behind_once_per_unit_and_experiment) {
  scratch_database db;
  expd_process node{db, {"--writer-interval-ms=20"}};
  start_example(node);
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 50; ++i)
      variant_of(node, "u" + std::to_string(i));
  // Without a restart, the writer gets there within its interval.
  std::string rows;
  for (int tries = 0; tries < 100 && rows != "50"; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    rows = db.scalar("SELECT count(*) FROM exp.assignments");
  }
  EXPECT_EQ(rows, "50");
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT (experiment_id, unit_id)) FROM exp.assignments"), "50");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments a JOIN exp.variants v"
                      " ON v.id = a.variant_id WHERE a.salt = 'planner_policy_exp'"),
            "50");
}

TEST(assign_flow, a_new_salt_rerandomises_and_replaces_the_stored_rows) {
  scratch_database db;
  expd_process node{db};
  start_example(node);
  for (int i = 0; i < 100; ++i)
    variant_of(node, "u" + std::to_string(i));
  auto doc = spec_example();
  doc["experiments"][0]["salt"] = "planner_policy_exp-v2";
  ASSERT_EQ(node.apply(doc).status, 200);
  for (int i = 0; i < 100; ++i) {
    auto unit = "u" + std::to_string(i);
    EXPECT_EQ(variant_of(node, unit),
              expd::core::bucket_of("planner_policy_exp-v2", unit) < 5000 ? "control"
                                                                             : "leftovers_v2");
  }
  ASSERT_EQ(node.stop(), 0);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments WHERE salt = 'planner_policy_exp-v2'"),
            "100");
}

TEST(assign_flow, paused_keeps_enrolled_units_and_stopped_serves_none) {
  scratch_database db;
  expd_process node{db};
  start_example(node);
  auto enrolled = variant_of(node, "early");
  ASSERT_EQ(node.set_status("planner_policy_exp", "paused").status, 200);
  EXPECT_EQ(variant_of(node, "early"), enrolled);
  EXPECT_EQ(variant_of(node, "late"), "");
  ASSERT_EQ(node.set_status("planner_policy_exp", "stopped").status, 200);
  EXPECT_EQ(variant_of(node, "early"), "");
  EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 409);
}

// Issue 10, defect 1: a NUL in a unit id was answered 200 and then made the writer's
// COPY fail on that row forever, so no later assignment was stored.
TEST(assign_flow, a_unit_id_postgresql_cannot_store_is_refused_and_later_ones_are_stored) {
  scratch_database db;
  expd_process node{db, {"--writer-interval-ms=20"}};
  start_example(node);
  auto refused = node.request("POST", "/v1/assign",
                              R"({"unit_type":"user","unit_id":"\u0000x",)"
                              R"("requested_experiments":["planner_policy_exp"]})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find(R"("field":"unit_id")"), std::string::npos) << refused.body;
  for (int i = 0; i < 20; ++i)
    EXPECT_NE(variant_of(node, "after-" + std::to_string(i)), "");
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == "20"; },
                         100))
    << db.scalar("SELECT count(*) FROM exp.assignments");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignment_dead_letters"), "0");
}

// Issue 10, defect 7: first-time assignments answered just before a SIGKILL were lost
// with the writer's queue, so after an allocation change those units came back with
// another variant. The writer interval is long here so that, without the journal,
// the last ~500 rows are still in memory at the kill.
TEST(assign_flow, a_sigkill_loses_no_assignment_and_none_flips_after_an_allocation_change) {
  scratch_database db;
  expd_process node{db, {"--writer-interval-ms=5000"}};
  start_example(node);
  constexpr int units = 2500;
  std::vector<std::string> first(units);
  for (int i = 0; i < units; ++i)
    first[i] = variant_of(node, "killed-" + std::to_string(i));
  node.kill();

  node.start();
  // The journal is replayed into PostgreSQL before the port serves.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), std::to_string(units));
  ASSERT_EQ(node.apply(spec_example(0.2, 0.8)).status, 200);
  int flips = 0;
  for (int i = 0; i < units; ++i)
    flips += variant_of(node, "killed-" + std::to_string(i)) != first[i];
  EXPECT_EQ(flips, 0);
  ASSERT_EQ(node.stop(), 0);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), std::to_string(units));
  // A clean stop leaves nothing for the next start to replay.
  EXPECT_TRUE(std::filesystem::is_empty(node.spool_dir() + "/assignment-journal"));
}
