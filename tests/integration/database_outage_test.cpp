// PostgreSQL going away: the node keeps answering from memory, /health says so, and the
// first-time assignments queued meanwhile reach the table once it is back.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <thread>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

// Each wait of this test is bounded at 15 s.
constexpr int tries = 150;

std::string variant_of(const expd_process& node, const std::string& unit) {
  auto reply = node.assign({{"unit_type", "user"}, {"unit_id", unit}});
  EXPECT_EQ(reply.status, 200) << reply.body;
  auto doc = reply.json();
  return doc["assignments"].empty() ? "" : doc["assignments"][0]["variant_name"].get<std::string>();
}

} // namespace

TEST(database_outage, assignments_keep_flowing_and_are_written_when_it_returns) {
  scratch_database db;
  expd_process node{db, {"--writer-interval-ms=20"}};
  ASSERT_EQ(node.apply(spec_example()).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  std::map<std::string, std::string> before;
  for (int i = 0; i < 20; ++i)
    before["old" + std::to_string(i)] = variant_of(node, "old" + std::to_string(i));
  ASSERT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == "20"; }, tries));

  db.allow_connections(false);
  EXPECT_TRUE(eventually([&] { return node.request("GET", "/health").status == 503; }, tries));
  for (auto& [unit, variant] : before)
    EXPECT_EQ(variant_of(node, unit), variant);
  for (int i = 0; i < 30; ++i)
    EXPECT_NE(variant_of(node, "new" + std::to_string(i)), "");
  EXPECT_TRUE(eventually([&] {
    auto text = node.request("GET", "/metrics").body;
    return text.find("expd_writer_failures_total 0\n") == std::string::npos
           && text.find("expd_writer_failures_total") != std::string::npos;
  }, tries));

  db.allow_connections(true);
  EXPECT_TRUE(eventually([&] { return node.request("GET", "/health").status == 200; }, tries));
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == "50"; }, tries))
    << db.scalar("SELECT count(*) FROM exp.assignments");
  EXPECT_EQ(node.stop(), 0);
}

// Issue 10: with the queue full the writer sheds the oldest rows from memory. They
// used to be lost; now their shards' journals keep them, a clean stop leaves those
// journals, and the next start writes every row.
TEST(database_outage, rows_shed_from_a_full_queue_are_written_at_the_next_start) {
  scratch_database db;
  expd_process node{db, {"--writer-interval-ms=20", "--writer-max-queue=10"}};
  ASSERT_EQ(node.apply(spec_example()).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  db.allow_connections(false);
  EXPECT_TRUE(eventually([&] { return node.request("GET", "/health").status == 503; }, tries));
  std::map<std::string, std::string> answered;
  for (int i = 0; i < 50; ++i)
    answered["shed" + std::to_string(i)] = variant_of(node, "shed" + std::to_string(i));
  EXPECT_TRUE(eventually([&] {
    return node.request("GET", "/metrics").body.find("expd_writer_rows_dropped_total 40\n")
           != std::string::npos;
  }, tries));

  db.allow_connections(true);
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == "10"; }, tries))
    << db.scalar("SELECT count(*) FROM exp.assignments");
  EXPECT_EQ(node.stop(), 0);
  node.start();
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), "50");
  for (auto& [unit, variant] : answered)
    EXPECT_EQ(variant_of(node, unit), variant) << unit;
  EXPECT_EQ(node.stop(), 0);
}
