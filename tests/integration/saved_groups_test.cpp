// Saved groups (docs/targeting.md#saved-groups) on a real expd and PostgreSQL: groups are
// applied and listed, experiments name them in conditions, a changed group's ids reach
// every shard without the experiment being applied again, and faults are refused with
// their path and nothing applied.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

http_reply apply_groups(const expd_process& node, const std::vector<json>& groups, bool dry_run = false) {
  return node.request("POST", std::string{"/admin/v1/saved-groups/apply"} + (dry_run ? "?dry_run=true" : ""),
                      json{{"saved_groups", groups}}.dump(), true);
}

json id_list(const std::string& name, std::vector<std::string> ids) {
  return {{"name", name}, {"attribute_key", "id"}, {"values", ids}};
}

json experiment(const std::string& name, const json& condition) {
  return {{"experiments",
           {{{"name", name},
             {"unit_type", "user"},
             {"status", "running"},
             {"condition", condition},
             {"variants", {{{"name", "on"}, {"allocation", 1.0}}}}}}}};
}

// The experiments the unit is assigned to, with `context` (its id as "id" unless given).
std::vector<std::string> served(const expd_process& node, const std::string& unit, json context = nullptr) {
  if (context.is_null())
    context = {{"id", unit}};
  auto reply = node.assign({{"unit_type", "user"}, {"unit_id", unit}, {"context", context}});
  EXPECT_EQ(reply.status, 200) << reply.body;
  std::vector<std::string> out;
  auto answer = reply.json(); // held: the loop must not run over a destroyed temporary
  for (auto& a : answer["assignments"])
    out.push_back(a["experiment_name"]);
  return out;
}

const std::vector<std::string> beta_only{"beta_checkout"};
const std::vector<std::string> nothing{};

} // namespace

TEST(saved_groups, a_changed_id_list_reaches_every_shard_without_reapplying_the_experiment) {
  scratch_database db;
  expd_process node{db, {"--shards=4"}};
  auto applied = apply_groups(node, {id_list("beta_testers", {"u-1", "u-2"})});
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(applied.json()["saved_groups"][0]["action"], "created");
  EXPECT_EQ(applied.json()["saved_groups"][0]["kind"], "id_list");
  ASSERT_EQ(node.apply(experiment("beta_checkout", {{"id", {{"$inGroup", "beta_testers"}}}})).status, 200);
  auto updated_at = db.scalar("SELECT updated_at FROM exp.experiments WHERE name = 'beta_checkout'");

  EXPECT_EQ(served(node, "u-1"), beta_only);
  EXPECT_EQ(served(node, "u-3"), nothing);
  EXPECT_EQ(served(node, "u-9", {{"id", "U-1"}}), nothing); // ids compare exactly

  // Units spread over the four shards: every shard got the new snapshot.
  std::vector<std::string> ids;
  for (int i = 100; i < 140; ++i)
    ids.push_back("u-" + std::to_string(i));
  auto changed = apply_groups(node, {id_list("beta_testers", ids)});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.json()["saved_groups"][0]["action"], "updated");
  for (auto& id : ids)
    EXPECT_EQ(served(node, id), beta_only) << id;
  EXPECT_EQ(served(node, "u-2"), nothing); // left the group before it was ever assigned
  EXPECT_EQ(served(node, "u-1"), nothing); // left the group: not targeted now, whatever it holds
  EXPECT_EQ(db.scalar("SELECT updated_at FROM exp.experiments WHERE name = 'beta_checkout'"), updated_at);

  auto again = apply_groups(node, {id_list("beta_testers", ids)});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["saved_groups"][0]["action"], "unchanged");

  // A restart builds its first snapshot with the stored groups.
  node.stop();
  node.start();
  EXPECT_EQ(served(node, "u-139"), beta_only);
  EXPECT_EQ(served(node, "u-3"), nothing);
  auto listed = node.request("GET", "/admin/v1/saved-groups", "", true);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json()["saved_groups"][0]["values"].size(), ids.size());
  auto experiments = node.request("GET", "/admin/v1/experiments", "", true);
  EXPECT_EQ(experiments.json()["experiments"][0]["saved_groups"], json::array({"beta_testers"}));
}

TEST(saved_groups, condition_groups_and_groups_naming_groups) {
  scratch_database db;
  expd_process node{db};
  auto applied = apply_groups(node, {id_list("beta_testers", {"u-1"}),
                                     {{"name", "staff"}, {"condition", {{"email", {{"$regexi", "@corp\\.example$"}}}}}},
                                     {{"name", "beta_staff"}, {"condition", {{"$savedGroups", {"beta_testers", "staff"}}}}}});
  ASSERT_EQ(applied.status, 200) << applied.body;
  ASSERT_EQ(node.apply(experiment("beta_checkout", {{"$or", {{{"$savedGroup", "staff"}},
                                                             {{"tags", {{"$alli", {"VIP"}}}}}}}})).status,
            200);
  EXPECT_EQ(served(node, "u-5", {{"email", "Kim@CORP.example"}}), beta_only);
  EXPECT_EQ(served(node, "u-6", {{"email", "kim@example.org"}}), nothing);
  EXPECT_EQ(served(node, "u-7", {{"tags", {"vip", "x"}}}), beta_only);
  ASSERT_EQ(node.apply(experiment("both", {{"$savedGroup", "beta_staff"}})).status, 200);
  auto both = node.assign({{"unit_type", "user"}, {"unit_id", "u-1"},
                           {"requested_experiments", {"both"}}, {"context", {{"id", "u-1"}, {"email", "a@corp.example"}}}});
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_EQ(both.json()["assignments"].size(), 1u);
  // Widening the condition group takes new units in at once.
  ASSERT_EQ(apply_groups(node, {{{"name", "staff"}, {"condition", {{"email", {{"$regexi", "@(corp|lab)\\.example$"}}}}}}})
              .status,
            200);
  EXPECT_EQ(served(node, "u-8", {{"email", "ann@LAB.example"}}), beta_only);
}

TEST(saved_groups, faults_are_refused_with_their_path_and_nothing_is_applied) {
  scratch_database db;
  expd_process node{db};
  // An experiment naming a group that is not applied.
  auto unknown = node.apply(experiment("beta_checkout", {{"$and", {{{"id", {{"$inGroup", "beta_testers"}}}}}}}));
  ASSERT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_EQ(error_code_and_field(unknown), "invalid_experiment experiments[0].condition.$and[0].id.$inGroup");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments"), "0");

  // A document with one bad group stores none of it.
  auto bad = apply_groups(node, {id_list("beta_testers", {"u-1"}),
                                 {{"name", "staff"}, {"condition", {{"email", {{"$regexi", "(a"}}}}}}});
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(error_code_and_field(bad), "invalid_saved_group saved_groups[1].condition.email.$regexi");
  auto bad_id = apply_groups(node, {{{"name", "x"}, {"attribute_key", "id"}, {"values", {"u-1", true}}}});
  EXPECT_EQ(error_code_and_field(bad_id), "invalid_saved_group saved_groups[0].values[1]");
  auto cycle = apply_groups(node, {{{"name", "a"}, {"condition", {{"$savedGroup", "b"}}}},
                                   {{"name", "b"}, {"condition", {{"$notSavedGroups", {"a"}}}}}});
  ASSERT_EQ(cycle.status, 422) << cycle.body;
  EXPECT_NE(cycle.body.find("a -> b -> a"), std::string::npos) << cycle.body;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.saved_groups"), "0");

  auto dry = apply_groups(node, {id_list("beta_testers", {"u-1"})}, true);
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.json()["dry_run"], true);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.saved_groups"), "0");

  ASSERT_EQ(apply_groups(node, {id_list("beta_testers", {"u-1"}), id_list("unused", {"x"})}).status, 200);
  ASSERT_EQ(node.apply(experiment("beta_checkout", {{"id", {{"$inGroup", "beta_testers"}}}})).status, 200);

  // $inGroup needs an id list: turning the group into a condition would break the experiment.
  auto kind = apply_groups(node, {{{"name", "beta_testers"}, {"condition", {{"plan", "pro"}}}}});
  ASSERT_EQ(kind.status, 422) << kind.body;
  EXPECT_EQ(error_code_and_field(kind), "invalid_saved_group saved_groups[0]");
  EXPECT_NE(kind.body.find("beta_checkout"), std::string::npos) << kind.body;

  // Deleting (or renaming: applying a new name, then deleting the old) a group in use.
  auto in_use = node.request("DELETE", "/admin/v1/saved-groups/beta_testers", "", true);
  ASSERT_EQ(in_use.status, 409) << in_use.body;
  EXPECT_EQ(error_code_and_field(in_use), "saved_group_in_use name");
  EXPECT_NE(in_use.body.find("experiment beta_checkout (running)"), std::string::npos) << in_use.body;
  EXPECT_EQ(served(node, "u-1"), beta_only);
  EXPECT_EQ(node.request("DELETE", "/admin/v1/saved-groups/nope", "", true).status, 404);
  EXPECT_EQ(node.request("GET", "/admin/v1/saved-groups/unused", "", true).status, 405);
  auto deleted = node.request("DELETE", "/admin/v1/saved-groups/unused", "", true);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(db.scalar("SELECT string_agg(name, ',') FROM exp.saved_groups"), "beta_testers");

  // Once the experiment no longer names it, the group can go.
  ASSERT_EQ(node.apply(experiment("beta_checkout", {{"id", {{"$in", {"u-1"}}}}})).status, 200);
  EXPECT_EQ(node.request("DELETE", "/admin/v1/saved-groups/beta_testers", "", true).status, 200);
  EXPECT_EQ(served(node, "u-1"), beta_only);
}

TEST(saved_groups, expctl_applies_the_example_groups_before_its_experiment) {
  scratch_database db;
  expd_process node{db};
  auto applied = run_expctl(node, "apply -f " + std::string{EXPD_SOURCE_DIR} + "/config/saved_groups.example.yml");
  ASSERT_EQ(applied.status, 0) << applied.out;
  EXPECT_LT(applied.out.find("beta_testers"), applied.out.find("beta_checkout")) << applied.out;
  EXPECT_EQ(served(node, "user-2"), beta_only);
  EXPECT_EQ(served(node, "user-4"), nothing);
  EXPECT_EQ(served(node, "user-4", {{"id", "user-4"}, {"email", "Ann@Example.com"}}), beta_only);
  auto listed = run_expctl(node, "get saved-groups");
  ASSERT_EQ(listed.status, 0) << listed.out;
  EXPECT_NE(listed.out.find("id_list"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("internal_staff"), std::string::npos) << listed.out;
}
