// Saved groups: the saved_groups document, id lists as hash sets, and the operators that
// name groups ($inGroup $notInGroup $savedGroup $savedGroups $notSavedGroups); snapshots
// compile experiments' conditions against the groups.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/experiment_document.hpp"
#include "core/snapshot.hpp"
#include "core/value_set.hpp"
#include "tests/core/condition_support.hpp"

using namespace expd::test::condition_support;
using expd::core::parse_saved_group_document;
using expd::core::saved_group_set;
using expd::core::saved_group_spec;
using expd::core::value_set;

namespace {

// The path parse_saved_group_document refuses `list` at, or "".
std::string document_error(const std::string& list) {
  try {
    parse_saved_group_document(json{{"saved_groups", json::parse(list)}});
  } catch (const field_error& e) {
    return e.field();
  }
  return "";
}

// The path compiling the groups of `list` refuses at, each named by its position.
std::string set_error(const std::string& list) {
  try {
    auto specs = parse_saved_group_document(json{{"saved_groups", json::parse(list)}});
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < specs.size(); ++i)
      paths.push_back("saved_groups[" + std::to_string(i) + "]");
    saved_group_set(std::move(specs), paths);
  } catch (const field_error& e) {
    return e.field() + ": " + e.what();
  }
  return "";
}

const char* beta = R"([
  {"name": "beta_testers", "attribute_key": "id", "values": ["u-1", "u-2", 42]},
  {"name": "staff", "condition": {"email": {"$regexi": "@corp\\.example$"}}},
  {"name": "nested_ids", "attribute_key": "user.id", "values": ["n-1"]},
  {"name": "beta_staff", "condition": {"$savedGroups": ["beta_testers", "staff"]}}
])";

} // namespace

// ---- value_set: the hash set behind $in and id lists ---------------------------------------

TEST(value_set, strict_equality_by_type) {
  value_set set(json::parse(R"(["a", 1, 2.5, true, null, [1], {"a": 1}])"));
  EXPECT_TRUE(set.contains(json("a")));
  EXPECT_FALSE(set.contains(json("A")));
  EXPECT_FALSE(set.contains(json("1")));
  EXPECT_TRUE(set.contains(json(1.0)));
  EXPECT_TRUE(set.contains(json(2.5)));
  EXPECT_TRUE(set.contains(json(true)));
  EXPECT_FALSE(set.contains(json(false)));
  EXPECT_TRUE(set.contains(json(nullptr)));
  EXPECT_FALSE(set.contains(json::parse("[1]"))); // never === to anything
  EXPECT_EQ(set.size(), 5u);
}

TEST(value_set, negative_zero_is_zero) {
  value_set set(json::parse("[-0.0]"));
  EXPECT_TRUE(set.contains(json(0)));
  EXPECT_TRUE(set.contains(json(0.0)));
}

TEST(value_set, arrays_intersect) {
  value_set set(json::parse(R"(["a", "b"])"));
  EXPECT_TRUE(set.matches(json::parse(R"(["x", "b"])")));
  EXPECT_FALSE(set.matches(json::parse(R"(["x"])")));
  EXPECT_FALSE(set.matches(json::array()));
}

TEST(value_set, folded_and_moved) {
  value_set folded(json::parse(R"(["Beta", "ÉTÉ", 1])"), true);
  value_set moved = std::move(folded);
  EXPECT_TRUE(moved.contains(json("BETA")));
  EXPECT_TRUE(moved.contains(json("été")));
  EXPECT_FALSE(moved.contains(json("1")));
}

TEST(value_set, a_long_list) {
  json ids = json::array();
  for (int i = 0; i < 200000; ++i)
    ids.push_back("user-" + std::to_string(i));
  value_set set(ids);
  EXPECT_EQ(set.size(), 200000u);
  EXPECT_TRUE(set.contains(json("user-0")));
  EXPECT_TRUE(set.contains(json("user-199999")));
  EXPECT_FALSE(set.contains(json("user-200000")));
}

// ---- The saved_groups document -----------------------------------------------------------

TEST(saved_group_document, reads_id_lists_and_conditions) {
  auto specs = parse_saved_group_document(json{{"saved_groups", json::parse(beta)}});
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_TRUE(specs[0].is_list());
  EXPECT_EQ(specs[0].attribute_key, "id");
  EXPECT_EQ(specs[0].values, json::parse(R"(["u-1", "u-2", 42])"));
  EXPECT_FALSE(specs[1].is_list());
  EXPECT_EQ(expd::core::saved_group_json(specs[0]),
            json::parse(R"({"name": "beta_testers", "description": "", "attribute_key": "id",
                            "values": ["u-1", "u-2", 42]})"));
  EXPECT_EQ(expd::core::saved_group_json(specs[1])["condition"], specs[1].condition);
}

TEST(saved_group_document, refuses_with_the_path) {
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id", "values": ["x", true]}])"),
            "saved_groups[0].values[1]");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id", "values": [null]}])"),
            "saved_groups[0].values[0]");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id", "values": [["x"]]}])"),
            "saved_groups[0].values[0]");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id", "values": "x"}])"),
            "saved_groups[0].values");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id"}])"), "saved_groups[0].values");
  EXPECT_EQ(document_error(R"([{"name": "a", "values": ["x"]}])"), "saved_groups[0].attribute_key");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "", "values": []}])"),
            "saved_groups[0].attribute_key");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": 5, "values": []}])"),
            "saved_groups[0].attribute_key");
  EXPECT_EQ(document_error(R"([{"name": "a", "condition": {}, "values": ["x"]}])"),
            "saved_groups[0].values");
  EXPECT_EQ(document_error(R"([{"name": "a", "condition": {}, "attribute_key": "id"}])"),
            "saved_groups[0].attribute_key");
  EXPECT_EQ(document_error(R"([{"name": "a", "condition": []}])"), "saved_groups[0].condition");
  EXPECT_EQ(document_error(R"([{"name": "a", "condition": {}}, {"name": "b", "ids": ["x"]}])"),
            "saved_groups[1].ids");
  EXPECT_EQ(document_error(R"([{"name": "a", "condition": {}}, {"name": "a", "condition": {}}])"),
            "saved_groups[1].name");
  EXPECT_EQ(document_error(R"([{"name": "not a name", "condition": {}}])"), "saved_groups[0].name");
  EXPECT_EQ(document_error(R"([{"condition": {}}])"), "saved_groups[0].name");
  EXPECT_EQ(document_error(R"([5])"), "saved_groups[0]");
  std::string long_id(1025, 'x');
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id", "values": [")" + long_id + R"("]}])"),
            "saved_groups[0].values[0]");
  EXPECT_EQ(document_error(R"([{"name": "a", "attribute_key": "id", "values": []}])"), "");
}

TEST(saved_group_document, conditions_are_checked_when_the_groups_compile) {
  auto regex = set_error(R"([{"name": "a", "condition": {"email": {"$regex": "("}}}])");
  EXPECT_EQ(regex.substr(0, regex.find(':')), "saved_groups[0].condition.email.$regex");
  auto unknown = set_error(R"([{"name": "a", "condition": {}}, {"name": "b", "condition": {"id": {"$inGroup": "nope"}}}])");
  EXPECT_EQ(unknown.substr(0, unknown.find(':')), "saved_groups[1].condition.id.$inGroup");
  EXPECT_EQ(set_error(beta), "");
}

TEST(saved_group_document, cycles_are_refused) {
  auto self = set_error(R"([{"name": "a", "condition": {"$savedGroup": "a"}}])");
  EXPECT_EQ(self.substr(0, self.find(':')), "saved_groups[0].condition.$savedGroup");
  EXPECT_NE(self.find("a -> a"), std::string::npos) << self;
  auto pair = set_error(R"([{"name": "a", "condition": {"$savedGroups": ["b"]}},
                            {"name": "b", "condition": {"$or": [{"$notSavedGroups": "a"}]}}])");
  EXPECT_EQ(pair.substr(0, pair.find(':')), "saved_groups[1].condition.$or[0].$notSavedGroups");
  EXPECT_NE(pair.find("a -> b -> a"), std::string::npos) << pair;
}

// ---- $inGroup $notInGroup: the attribute's value is one of an id list's ids -----------------

TEST(condition_groups, in_group_is_strict_membership) {
  auto groups = groups_of(beta);
  EXPECT_TRUE(eval(R"({"id": {"$inGroup": "beta_testers"}})", R"({"id": "u-2"})", &groups));
  EXPECT_FALSE(eval(R"({"id": {"$inGroup": "beta_testers"}})", R"({"id": "u-3"})", &groups));
  EXPECT_FALSE(eval(R"({"id": {"$inGroup": "beta_testers"}})", R"({"id": "U-2"})", &groups));
  EXPECT_TRUE(eval(R"({"id": {"$inGroup": "beta_testers"}})", R"({"id": 42})", &groups));
  EXPECT_FALSE(eval(R"({"id": {"$inGroup": "beta_testers"}})", R"({"id": "42"})", &groups));
  EXPECT_FALSE(eval(R"({"id": {"$inGroup": "beta_testers"}})", "{}", &groups));
  // The operator reads the attribute it is written on, whatever the list's key.
  EXPECT_TRUE(eval(R"({"account": {"$inGroup": "beta_testers"}})", R"({"account": "u-1"})", &groups));
  EXPECT_TRUE(eval(R"({"ids": {"$inGroup": "beta_testers"}})", R"({"ids": ["x", "u-1"]})", &groups));
  EXPECT_FALSE(eval(R"({"ids": {"$inGroup": "beta_testers"}})", R"({"ids": []})", &groups));
}

TEST(condition_groups, not_in_group_is_the_negation) {
  auto groups = groups_of(beta);
  EXPECT_FALSE(eval(R"({"id": {"$notInGroup": "beta_testers"}})", R"({"id": "u-1"})", &groups));
  EXPECT_TRUE(eval(R"({"id": {"$notInGroup": "beta_testers"}})", R"({"id": "u-9"})", &groups));
  EXPECT_TRUE(eval(R"({"id": {"$notInGroup": "beta_testers"}})", "{}", &groups));
  EXPECT_TRUE(eval(R"({"id": {"$notInGroup": "beta_testers"}})", R"({"id": ["x"]})", &groups));
  EXPECT_TRUE(eval(R"({"id": {"$notInGroup": "beta_testers"}})", R"({"id": true})", &groups));
}

TEST(condition_groups, in_group_is_refused_when_it_cannot_hold) {
  auto groups = groups_of(beta);
  EXPECT_EQ(error_path(R"({"id": {"$inGroup": "nope"}})", "experiments[0].condition", &groups),
            "experiments[0].condition.id.$inGroup");
  EXPECT_EQ(error_path(R"({"id": {"$inGroup": "beta_testers"}})", "experiments[0].condition"),
            "experiments[0].condition.id.$inGroup"); // no groups at all
  EXPECT_EQ(error_path(R"({"id": {"$inGroup": "staff"}})", "condition", &groups),
            "condition.id.$inGroup"); // a condition group has no ids
  EXPECT_EQ(error_path(R"({"id": {"$notInGroup": ["beta_testers"]}})", "condition", &groups),
            "condition.id.$notInGroup");
  EXPECT_EQ(error_path(R"({"id": {"$inGroup": ""}})", "condition", &groups), "condition.id.$inGroup");
  EXPECT_EQ(error_path(R"({"$or": [{"a": 1}, {"id": {"$inGroup": "nope"}}]})", "condition", &groups),
            "condition.$or[1].id.$inGroup");
}

// ---- $savedGroup $savedGroups $notSavedGroups: the whole group holds ------------------------

TEST(condition_groups, saved_group_reads_an_id_lists_own_attribute) {
  auto groups = groups_of(beta);
  EXPECT_TRUE(eval(R"({"$savedGroup": "beta_testers"})", R"({"id": "u-1"})", &groups));
  EXPECT_FALSE(eval(R"({"$savedGroup": "beta_testers"})", R"({"account": "u-1"})", &groups));
  EXPECT_TRUE(eval(R"({"$savedGroup": "nested_ids"})", R"({"user": {"id": "n-1"}})", &groups));
  EXPECT_FALSE(eval(R"({"$savedGroup": "nested_ids"})", R"({"user": "n-1"})", &groups));
}

TEST(condition_groups, saved_group_evaluates_a_condition_group) {
  auto groups = groups_of(beta);
  EXPECT_TRUE(eval(R"({"$savedGroup": "staff", "country": "US"})",
                   R"({"email": "Kim@Corp.Example", "country": "US"})", &groups));
  EXPECT_FALSE(eval(R"({"$savedGroup": "staff"})", R"({"email": "kim@example.org"})", &groups));
  // A group naming groups: beta_staff is beta_testers and staff.
  EXPECT_TRUE(eval(R"({"$savedGroup": "beta_staff"})", R"({"id": "u-1", "email": "a@corp.example"})", &groups));
  EXPECT_FALSE(eval(R"({"$savedGroup": "beta_staff"})", R"({"id": "u-7", "email": "a@corp.example"})", &groups));
}

TEST(condition_groups, saved_groups_needs_all_and_not_saved_groups_none) {
  auto groups = groups_of(beta);
  json both = json::parse(R"({"id": "u-1", "email": "a@corp.example"})");
  json one = json::parse(R"({"id": "u-1"})");
  json neither = json::parse(R"({"id": "x"})");
  auto all = condition::compile(json::parse(R"({"$savedGroups": ["beta_testers", "staff"]})"), "c", &groups);
  auto none = condition::compile(json::parse(R"({"$notSavedGroups": ["beta_testers", "staff"]})"), "c", &groups);
  auto single = condition::compile(json::parse(R"({"$savedGroups": "staff"})"), "c", &groups);
  EXPECT_TRUE(all.matches(both));
  EXPECT_FALSE(all.matches(one));
  EXPECT_FALSE(none.matches(both));
  EXPECT_FALSE(none.matches(one));
  EXPECT_TRUE(none.matches(neither));
  EXPECT_TRUE(single.matches(both));
  EXPECT_FALSE(single.matches(one));
  // Empty lists add nothing, as GrowthBook's expansion of them does.
  EXPECT_TRUE(eval(R"({"$savedGroups": []})", "{}", &groups));
  EXPECT_TRUE(eval(R"({"$notSavedGroups": []})", "{}", &groups));
}

TEST(condition_groups, whole_group_operators_are_checked) {
  auto groups = groups_of(beta);
  EXPECT_EQ(error_path(R"({"$savedGroup": "nope"})", "condition", &groups), "condition.$savedGroup");
  EXPECT_EQ(error_path(R"({"$savedGroup": ["staff"]})", "condition", &groups), "condition.$savedGroup");
  EXPECT_EQ(error_path(R"({"$savedGroups": ["staff", 3]})", "condition", &groups), "condition.$savedGroups[1]");
  EXPECT_EQ(error_path(R"({"$notSavedGroups": ["staff", "nope"]})", "condition", &groups),
            "condition.$notSavedGroups[1]");
  EXPECT_EQ(error_path(R"({"$savedGroups": {"a": 1}})", "condition", &groups), "condition.$savedGroups");
  // In a value, $savedGroup is no operator (GrowthBook evaluates it on contexts only).
  EXPECT_EQ(error_path(R"({"x": {"$savedGroup": "staff"}})", "condition", &groups), "condition.x.$savedGroup");
}

TEST(condition_groups, a_condition_lists_the_groups_it_names) {
  auto groups = groups_of(beta);
  auto c = condition::compile(json::parse(R"({"$or": [{"id": {"$inGroup": "beta_testers"}},
                                                      {"$savedGroups": ["staff", "beta_testers"]}],
                                              "x": {"$elemMatch": {"id": {"$notInGroup": "nested_ids"}}}})"),
                              "c", &groups);
  EXPECT_EQ(c.saved_groups(), (std::vector<std::string>{"beta_testers", "nested_ids", "staff"}));
  EXPECT_TRUE(condition::compile(json::parse(R"({"a": 1})")).saved_groups().empty());
  // Only its own: beta_staff's condition names staff and beta_testers.
  EXPECT_EQ(condition::compile(json::parse(R"({"$savedGroup": "beta_staff"})"), "c", &groups).saved_groups(),
            std::vector<std::string>{"beta_staff"});
  EXPECT_EQ(groups.get("beta_staff")->saved_groups(), (std::vector<std::string>{"beta_testers", "staff"}));
}

// ---- Snapshots and experiments documents ---------------------------------------------------

TEST(condition_groups, a_new_snapshot_compiles_conditions_against_new_ids) {
  expd::core::experiment e;
  e.name = "exp";
  e.unit_type = "user";
  e.status = expd::core::experiment_status::running;
  e.condition_spec = json::parse(R"({"id": {"$inGroup": "beta_testers"}})");
  auto before = std::make_shared<const saved_group_set>(groups_of(
    R"([{"name": "beta_testers", "attribute_key": "id", "values": ["u-1"]}])"));
  auto after = std::make_shared<const saved_group_set>(groups_of(
    R"([{"name": "beta_testers", "attribute_key": "id", "values": ["u-2"]}])"));
  expd::core::snapshot first(1, {e}, before), second(2, {e}, after);
  json u1 = {{"id", "u-1"}}, u2 = {{"id", "u-2"}};
  EXPECT_TRUE(first.experiments()[0].targeting.matches(u1));
  EXPECT_FALSE(first.experiments()[0].targeting.matches(u2));
  EXPECT_FALSE(second.experiments()[0].targeting.matches(u1));
  EXPECT_TRUE(second.experiments()[0].targeting.matches(u2));
  EXPECT_EQ(second.saved_groups(), after);
}

TEST(condition_groups, a_snapshot_missing_a_group_serves_the_experiment_to_nobody) {
  expd::core::experiment e;
  e.name = "exp";
  e.unit_type = "user";
  e.condition_spec = json::parse(R"({"id": {"$notInGroup": "gone"}})");
  expd::core::snapshot snap(1, {e});
  EXPECT_FALSE(snap.experiments()[0].targeting.matches(json{{"id", "u-1"}}));
  EXPECT_NE(snap.experiments()[0].targeting_error.find("gone"), std::string::npos);
  ASSERT_NE(snap.saved_groups(), nullptr);
  EXPECT_EQ(snap.saved_groups()->size(), 0u);
}

TEST(condition_groups, experiments_documents_name_groups_by_path) {
  auto groups = groups_of(beta);
  json doc = json::parse(R"({"experiments": [
    {"name": "a", "unit_type": "user", "condition": {"id": {"$inGroup": "beta_testers"}},
     "variants": [{"name": "control", "allocation": 1}]},
    {"name": "b", "unit_type": "user", "condition": {"$and": [{"id": {"$inGroup": "beta"}}]},
     "variants": [{"name": "control", "allocation": 1}]}]})");
  try {
    expd::core::parse_experiment_document(doc, {}, &groups);
    FAIL() << "expected a field_error";
  } catch (const field_error& e) {
    EXPECT_EQ(e.field(), "experiments[1].condition.$and[0].id.$inGroup");
    EXPECT_NE(std::string(e.what()).find("beta"), std::string::npos);
  }
  doc["experiments"].erase(1);
  EXPECT_EQ(expd::core::parse_experiment_document(doc, {}, &groups).size(), 1u);
}
