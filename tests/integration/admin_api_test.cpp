// The authenticated admin API: apply, list, status changes, and refusals that leave
// nothing half-applied.
#include <gtest/gtest.h>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

std::string field_of(const http_reply& reply) {
  return reply.json()["error"].value("field", "");
}

} // namespace

TEST(admin_api, refuses_requests_without_the_admin_token) {
  scratch_database db;
  expd_process node{db};
  auto reply = node.request("POST", "/admin/v1/experiments/apply", spec_example().dump());
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(field_of(reply), "Authorization");
  auto wrong = raw_exchange(node.port(),
                            "GET /admin/v1/experiments HTTP/1.1\r\nHost: x\r\n"
                            "Authorization: Bearer not-the-token\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(parse_replies(wrong).at(0).status, 401);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments"), "0");
}

TEST(admin_api, apply_is_an_idempotent_upsert) {
  scratch_database db;
  expd_process node{db};
  auto first = node.apply(spec_example());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json()["experiments"][0]["action"], "created");
  auto id = first.json()["experiments"][0]["id"];
  auto second = node.apply(spec_example());
  EXPECT_EQ(second.json()["experiments"][0]["action"], "unchanged");
  EXPECT_EQ(second.json()["experiments"][0]["id"], id);
  auto third = node.apply(spec_example(0.3, 0.7));
  EXPECT_EQ(third.json()["experiments"][0]["action"], "updated");
  EXPECT_EQ(third.json()["experiments"][0]["id"], id);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.variants"), "2");
  EXPECT_EQ(db.scalar("SELECT allocation FROM exp.variants WHERE name = 'control'"), "0.3");

  auto list = node.request("GET", "/admin/v1/experiments", "", true);
  ASSERT_EQ(list.status, 200);
  auto listed = list.json()["experiments"][0];
  EXPECT_EQ(listed["status"], "draft");
  EXPECT_EQ(listed["variants"][1]["name"], "leftovers_v2");
  EXPECT_EQ(listed["id"], id);
}

TEST(admin_api, dry_run_changes_nothing) {
  scratch_database db;
  expd_process node{db};
  auto reply = node.apply(spec_example(), true);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["dry_run"], true);
  EXPECT_EQ(reply.json()["experiments"][0]["action"], "created");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments"), "0");
}

TEST(admin_api, invalid_documents_are_refused_whole) {
  scratch_database db;
  expd_process node{db};
  auto doc = spec_example();
  doc["experiments"].push_back({{"name", "second"},
                                {"unit_type", "user"},
                                {"variants",
                                 {{{"name", "a"}, {"allocation", 0.7}},
                                  {{"name", "b"}, {"allocation", 0.7}}}}});
  auto reply = node.apply(doc);
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(field_of(reply), "experiments[1].variants");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments"), "0"); // the valid first one too

  doc = spec_example();
  doc["experiments"][0]["variants"][1]["name"] = "control";
  EXPECT_EQ(field_of(node.apply(doc)), "experiments[0].variants[1].name");

  doc = spec_example();
  doc["experiments"][0]["status"] = "launched";
  EXPECT_EQ(field_of(node.apply(doc)), "experiments[0].status");

  doc = spec_example();
  doc["experiments"][0]["cuped"] = {{"pre_period_days", 365}};
  EXPECT_EQ(field_of(node.apply(doc)), "experiments[0].cuped.pre_period_days");

  doc = spec_example();
  doc["experiments"][0]["condition"] = {{"app_version", {{"$vgt", {1, 2}}}}};
  EXPECT_EQ(field_of(node.apply(doc)), "experiments[0].condition.app_version.$vgt");

  doc = spec_example();
  doc["experiments"][0]["condition"] = {{"name", {{"$regex", "(unclosed"}}}};
  EXPECT_EQ(field_of(node.apply(doc)), "experiments[0].condition.name.$regex");

  auto junk = node.request("POST", "/admin/v1/experiments/apply", "{nope", true);
  EXPECT_EQ(junk.status, 400);
  EXPECT_EQ(field_of(junk), "body");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments"), "0");
}

TEST(admin_api, status_life_cycle) {
  scratch_database db;
  expd_process node{db};
  ASSERT_EQ(node.apply(spec_example()).status, 200);
  EXPECT_EQ(node.set_status("planner_policy_exp", "paused").status, 409);
  auto run = node.set_status("planner_policy_exp", "running");
  ASSERT_EQ(run.status, 200);
  EXPECT_EQ(run.json()["previous_status"], "draft");
  EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 200); // no-op
  EXPECT_EQ(node.set_status("planner_policy_exp", "paused").status, 200);
  EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  EXPECT_EQ(node.set_status("planner_policy_exp", "stopped").status, 200);
  EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 409);
  EXPECT_EQ(node.set_status("planner_policy_exp", "bogus").status, 400);
  EXPECT_EQ(node.set_status("nope", "running").status, 404);
  EXPECT_NE(db.scalar("SELECT start_at FROM exp.experiments"), "");
  EXPECT_NE(db.scalar("SELECT end_at FROM exp.experiments"), "");
  // Re-applying the unchanged document to a stopped experiment is a no-op.
  auto again = node.apply(spec_example());
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["experiments"][0]["action"], "unchanged");
}

TEST(admin_api, running_experiments_keep_their_variants_and_unit_type) {
  scratch_database db;
  expd_process node{db};
  ASSERT_EQ(node.apply(spec_example()).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  auto doc = spec_example();
  doc["experiments"][0]["variants"].erase(1);
  doc["experiments"][0]["variants"][0]["allocation"] = 1.0;
  auto removed = node.apply(doc);
  EXPECT_EQ(removed.status, 422);
  EXPECT_EQ(field_of(removed), "experiments[0].variants");
  doc = spec_example();
  doc["experiments"][0]["unit_type"] = "household";
  EXPECT_EQ(field_of(node.apply(doc)), "experiments[0].unit_type");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.variants"), "2");
  EXPECT_EQ(db.scalar("SELECT unit_type FROM exp.experiments"), "user");
}

TEST(admin_api, metrics_and_health) {
  scratch_database db;
  expd_process node{db};
  ASSERT_EQ(node.apply(spec_example()).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  for (int i = 0; i < 20; ++i)
    node.assign({{"unit_type", "user"}, {"unit_id", "m" + std::to_string(i)}});
  auto health = node.request("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json()["postgres"], "ok");
  auto metrics = node.request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  auto& text = metrics.body;
  EXPECT_NE(text.find("expd_http_requests_total{endpoint=\"assign\",code=\"200\"} 20"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("expd_http_request_duration_seconds_bucket{endpoint=\"assign\",le=\"+Inf\"} 20"),
            std::string::npos);
  EXPECT_NE(text.find("expd_assignments_total{experiment=\"planner_policy_exp\",variant=\"control\""),
            std::string::npos);
  EXPECT_NE(text.find("expd_writer_queue_depth"), std::string::npos);
  EXPECT_NE(text.find("# TYPE expd_assignments_new_total counter"), std::string::npos);
}
