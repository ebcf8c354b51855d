// The condition language: empty conditions, missing attributes, paths, attribute names
// that start with $, logical operators, compile errors and sharing. Each operator family
// has its own file (condition_compare, _string, _array, _group).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/condition_support.hpp"

using namespace expd::test::condition_support;

// ---- Empty conditions and the context ------------------------------------------------

TEST(condition, default_is_empty_and_matches_everything) {
  condition c;
  EXPECT_TRUE(c.empty());
  EXPECT_TRUE(c.matches(json::object()));
  EXPECT_TRUE(c.matches(json::parse(R"({"a": 1})")));
  EXPECT_TRUE(c.matches(json(nullptr)));
}

TEST(condition, null_and_empty_object_specs_are_empty) {
  EXPECT_TRUE(condition::compile(json(nullptr)).empty());
  EXPECT_TRUE(condition::compile(json::object()).empty());
  EXPECT_TRUE(condition::compile(json::object()).matches(json::parse(R"({"a": 1})")));
  EXPECT_FALSE(condition::compile(json::parse(R"({"a": 1})")).empty());
}

TEST(condition, empty_and_list_is_not_empty_but_matches) {
  auto c = condition::compile(json::parse(R"({"$and": []})"));
  EXPECT_FALSE(c.empty());
  EXPECT_TRUE(c.matches(json::object()));
}

TEST(condition, non_object_context_is_treated_as_empty_object) {
  auto missing = condition::compile(json::parse(R"({"a": {"$exists": false}})"));
  EXPECT_TRUE(missing.matches(json::array({1, 2})));
  EXPECT_TRUE(missing.matches(json("a")));
  EXPECT_TRUE(missing.matches(json(nullptr)));
  // A top-level array is not walked by index either.
  auto first = condition::compile(json::parse(R"({"0": 1})"));
  EXPECT_FALSE(first.matches(json::array({1})));
}

// ---- Missing attributes: GrowthBook's getPath returns null --------------------------------

TEST(condition, missing_attribute_is_null_for_every_operator) {
  const char* conds[] = {
    R"({"x": null})", R"({"x": "null"})", R"({"x": "undefined"})", R"({"x": 0})",
    R"({"x": false})", R"({"x": true})", R"({"x": []})", R"({"x": {}})",
    R"({"x": {"$eq": null}})", R"({"x": {"$ne": null}})", R"({"x": {"$lt": 1}})",
    R"({"x": {"$gte": 0}})", R"({"x": {"$gt": 0}})", R"({"x": {"$lte": "a"}})",
    R"({"x": {"$in": [null]}})", R"({"x": {"$nin": [null]}})", R"({"x": {"$in": [0]}})",
    R"({"x": {"$exists": true}})", R"({"x": {"$exists": false}})",
    R"({"x": {"$regex": "^null$"}})", R"({"x": {"$type": "null"}})",
    R"({"x": {"$type": "undefined"}})", R"({"x": {"$not": null}})", R"({"x": {"$size": 0}})",
    R"({"x": {"$all": []}})", R"({"x": {"$elemMatch": {}}})", R"({"x": {"$veq": "0"}})"};
  for (const char* cond : conds)
    EXPECT_EQ(eval(cond, R"({})"), eval(cond, R"({"x": null})")) << cond;
}

TEST(condition, missing_attribute_matches_as_null) {
  EXPECT_TRUE(eval(R"({"x": null})", R"({"y": 1})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "null"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$in": ["US", null]}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$nin": [null]}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$nin": ["US"]}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$gte": 0, "$lte": 0}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$gte": "a"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$exists": false}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": true})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": false})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$size": 0}})", R"({})"));
}

TEST(condition, missing_path_steps_give_null) {
  const char* cond = R"({"user.address.country": null})";
  EXPECT_TRUE(eval(cond, R"({})"));
  EXPECT_TRUE(eval(cond, R"({"user": null})"));
  EXPECT_TRUE(eval(cond, R"({"user": "text"})"));
  EXPECT_TRUE(eval(cond, R"({"user": {"address": 5}})"));
  EXPECT_TRUE(eval(cond, R"({"user": {"address": {}}})"));
  EXPECT_FALSE(eval(cond, R"({"user": {"address": {"country": ""}}})"));
  EXPECT_TRUE(eval(R"({"items.5.sku": {"$type": "null"}})", R"({"items": [{"sku": "A"}]})"));
  EXPECT_TRUE(eval(R"({"s.0": "null"})", R"({"s": "abc"})"));
  // A context that is not an object has no attributes, so each of them is null.
  EXPECT_TRUE(condition::compile(json::parse(R"({"x": null})")).matches(json::array({1})));
  EXPECT_TRUE(condition::compile(json::parse(R"({"x": 0})")).matches(json("text")));
}

// ---- $not -----------------------------------------------------------------------------------

TEST(condition, not_operator_negates_a_condition_value) {
  EXPECT_TRUE(eval(R"({"x": {"$not": {"$gt": 5}}})", R"({"x": 3})"));
  EXPECT_FALSE(eval(R"({"x": {"$not": {"$gt": 5}}})", R"({"x": 6})"));
  EXPECT_TRUE(eval(R"({"x": {"$not": {"$gt": 5}}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$not": "a"}})", R"({"x": "b"})"));
  EXPECT_FALSE(eval(R"({"x": {"$not": "a"}})", R"({"x": "a"})"));
  EXPECT_FALSE(eval(R"({"x": {"$not": {"$regex": "^a"}}})", R"({"x": "abc"})"));
  EXPECT_TRUE(eval(R"({"x": {"$not": {"$regex": "^a"}}})", R"({"x": "bac"})"));
  EXPECT_FALSE(eval(R"({"x": {"$not": null}})", R"({"x": null})"));
  // GrowthBook's getPath returns null, so a missing attribute matches null and $not fails.
  EXPECT_FALSE(eval(R"({"x": {"$not": null}})", R"({})"));
}

// ---- Paths ----------------------------------------------------------------------------------

TEST(condition, dotted_paths_walk_nested_objects) {
  const char* cond = R"({"user.address.country": "US"})";
  EXPECT_TRUE(eval(cond, R"({"user": {"address": {"country": "US"}}})"));
  EXPECT_FALSE(eval(cond, R"({"user": {"address": {"country": "CA"}}})"));
  EXPECT_FALSE(eval(cond, R"({"user": {"address": null}})"));
  EXPECT_FALSE(eval(cond, R"({"user.address.country": "US"})"));
  const char* missing = R"({"user.address.country": {"$exists": false}})";
  EXPECT_TRUE(eval(missing, R"({})"));
  EXPECT_TRUE(eval(missing, R"({"user": null})"));
  EXPECT_TRUE(eval(missing, R"({"user": "text"})"));
  EXPECT_TRUE(eval(missing, R"({"user": {"address": 5}})"));
  EXPECT_FALSE(eval(missing, R"({"user": {"address": {"country": ""}}})"));
  EXPECT_TRUE(eval(R"({"a.b": null})", R"({"a": {"b": null}})"));
  EXPECT_TRUE(eval(R"({"a.0": "x"})", R"({"a": {"0": "x"}})"));
}

TEST(condition, numeric_path_parts_index_arrays) {
  const char* ctx = R"({"items": [{"sku": "A"}, {"sku": "B"}]})";
  EXPECT_TRUE(eval(R"({"items.1.sku": "B"})", ctx));
  EXPECT_TRUE(eval(R"({"items.0.sku": "A"})", ctx));
  EXPECT_TRUE(eval(R"({"items.2.sku": {"$exists": false}})", ctx));
  EXPECT_TRUE(eval(R"({"items.01.sku": {"$exists": false}})", ctx));
  EXPECT_TRUE(eval(R"({"items.-1.sku": {"$exists": false}})", ctx));
  EXPECT_TRUE(eval(R"({"items.sku": {"$exists": false}})", ctx));
  EXPECT_TRUE(eval(R"({"m.1.0": 3})", R"({"m": [[1, 2], [3, 4]]})"));
  EXPECT_TRUE(eval(R"({"s.0": {"$exists": false}})", R"({"s": "abc"})"));
}

// ---- Attribute names that start with '$' -------------------------------------------------
// GrowthBook's evalCondition reads every context-level key other than $and $or $nor $not
// (and $savedGroup) as an attribute path, so "$groups" is an attribute. Only an object
// whose keys all start with '$' is an operator object.

TEST(condition, dollar_keys_at_the_context_level_are_attributes) {
  // GrowthBook's own case (cases.json, "$groups - match").
  EXPECT_TRUE(eval(R"({"$and": [{"$groups": {"$elemMatch": {"$eq": "a"}}},
                                {"$not": {"$groups": {"$elemMatch": {"$eq": "f"}}}}]})",
                   R"({"$groups": ["a", "b", "c", "d"]})"));
  EXPECT_FALSE(eval(R"({"$groups": {"$elemMatch": {"$eq": "d"}}})", R"({"$groups": ["a"]})"));
  EXPECT_TRUE(eval(R"({"$country": "US"})", R"({"$country": "US"})"));
  EXPECT_FALSE(eval(R"({"$country": "US"})", R"({"country": "US"})"));
  EXPECT_TRUE(eval(R"({"$country": null})", "{}")); // missing is null, as for any attribute
  EXPECT_TRUE(eval(R"({"$user.$id": {"$in": [7]}})", R"({"$user": {"$id": 7}})"));
  EXPECT_TRUE(eval(R"({"$": 1})", R"({"$": "1"})"));
  EXPECT_TRUE(eval(R"({"$or": [{"$adn": 1}]})", R"({"$adn": 1})")); // not $and: an attribute
  EXPECT_EQ(error_path(R"({"$foo": {"$in": [1]}})"), "");
}

TEST(condition, value_operators_at_the_context_level_are_refused) {
  // GrowthBook would read these as attribute names, which never holds what was meant.
  EXPECT_EQ(error_path(R"({"$in": [1]})"), "condition.$in");
  EXPECT_EQ(error_path(R"({"$regexi": "a"})"), "condition.$regexi");
  EXPECT_EQ(error_path(R"({"$inGroup": "beta"})"), "condition.$inGroup");
  EXPECT_EQ(error_path(R"({"$or": [{"$elemMatch": {}}]})", "experiments[0].condition"),
            "experiments[0].condition.$or[0].$elemMatch");
}

TEST(condition, dollar_keys_in_a_value_make_an_operator_object_only_when_all_do) {
  EXPECT_EQ(error_path(R"({"$x": {"$foo": 1}})"), "condition.$x.$foo");
  EXPECT_TRUE(eval(R"({"$x": {"$foo": 1, "bar": 2}})", R"({"$x": {"bar": 2, "$foo": 1}})"));
}

// ---- Logical operators ----------------------------------------------------------------------

TEST(condition, or_needs_any) {
  const char* cond = R"({"$or": [{"a": 1}, {"b": 2}]})";
  EXPECT_TRUE(eval(cond, R"({"a": 1})"));
  EXPECT_TRUE(eval(cond, R"({"b": 2})"));
  EXPECT_TRUE(eval(cond, R"({"a": 1, "b": 2})"));
  EXPECT_FALSE(eval(cond, R"({"a": 2, "b": 1})"));
  EXPECT_FALSE(eval(cond, R"({})"));
}

TEST(condition, empty_or_matches) {
  EXPECT_TRUE(eval(R"({"$or": []})", R"({})"));
  EXPECT_TRUE(eval(R"({"$or": [], "a": 1})", R"({"a": 1})"));
  EXPECT_FALSE(eval(R"({"$or": [], "a": 1})", R"({"a": 2})"));
}

TEST(condition, nor_needs_none) {
  const char* cond = R"({"$nor": [{"a": 1}, {"b": 2}]})";
  EXPECT_FALSE(eval(cond, R"({"a": 1})"));
  EXPECT_FALSE(eval(cond, R"({"b": 2})"));
  EXPECT_TRUE(eval(cond, R"({"a": 2, "b": 1})"));
  EXPECT_TRUE(eval(cond, R"({})"));
  // GrowthBook negates $or, which counts an empty list as matched.
  EXPECT_FALSE(eval(R"({"$nor": []})", R"({})"));
}

TEST(condition, and_needs_all) {
  const char* cond = R"({"$and": [{"a": 1}, {"b": {"$gt": 2}}]})";
  EXPECT_TRUE(eval(cond, R"({"a": 1, "b": 3})"));
  EXPECT_FALSE(eval(cond, R"({"a": 1, "b": 2})"));
  EXPECT_FALSE(eval(cond, R"({"b": 3})"));
  EXPECT_TRUE(eval(R"({"$and": [{}]})", R"({})"));
}

TEST(condition, not_negates_a_condition) {
  EXPECT_FALSE(eval(R"({"$not": {"a": 1}})", R"({"a": 1})"));
  EXPECT_TRUE(eval(R"({"$not": {"a": 1}})", R"({"a": 2})"));
  EXPECT_TRUE(eval(R"({"$not": {"a": 1}})", R"({})"));
  EXPECT_TRUE(eval(R"({"$not": {"a": 1, "b": 2}})", R"({"a": 1})"));
  EXPECT_FALSE(eval(R"({"$not": {}})", R"({})"));
}

TEST(condition, every_top_level_entry_must_hold) {
  const char* cond = R"({"$or": [{"a": 1}, {"a": 2}], "$not": {"b": 1}, "c": {"$exists": true}})";
  EXPECT_TRUE(eval(cond, R"({"a": 2, "b": 2, "c": 0})"));
  EXPECT_FALSE(eval(cond, R"({"a": 3, "b": 2, "c": 0})"));
  EXPECT_FALSE(eval(cond, R"({"a": 2, "b": 1, "c": 0})"));
  EXPECT_FALSE(eval(cond, R"({"a": 2, "b": 2})"));
}

TEST(condition, logical_operators_nest) {
  const char* cond = R"({"$or": [
    {"$and": [{"country": "US"}, {"age": {"$gte": 21}}]},
    {"$and": [{"country": {"$ne": "US"}}, {"age": {"$gte": 18}}]}
  ]})";
  EXPECT_TRUE(eval(cond, R"({"country": "US", "age": 21})"));
  EXPECT_FALSE(eval(cond, R"({"country": "US", "age": 19})"));
  EXPECT_TRUE(eval(cond, R"({"country": "CA", "age": 19})"));
  EXPECT_FALSE(eval(cond, R"({"country": "CA", "age": 17})"));
}

// ---- Compile errors -------------------------------------------------------------------------

TEST(condition, spec_must_be_an_object) {
  EXPECT_EQ(error_path("[]"), "condition");
  EXPECT_EQ(error_path(R"("country")"), "condition");
  EXPECT_EQ(error_path("5"), "condition");
  EXPECT_EQ(error_path("true", "experiments[0].condition"), "experiments[0].condition");
}

TEST(condition, unknown_operators_are_rejected) {
  EXPECT_EQ(error_path(R"({"age": {"$gtt": 1}})"), "condition.age.$gtt");
  EXPECT_EQ(error_path(R"({"age": {"$gt": 1, "$bad": 2}})"), "condition.age.$bad");
  EXPECT_EQ(error_path(R"({"v": {"$vfoo": "1.0"}})"), "condition.v.$vfoo");
  EXPECT_EQ(error_path(R"({"x": {"$": 1}})"), "condition.x.$");
  EXPECT_EQ(error_path(R"({"age": {"$gt": 1}})", "experiments[3].condition"), "");
  // A non-operator object is a literal, so its '$' keys are data.
  EXPECT_EQ(error_path(R"({"x": {"a": {"$bad": 1}, "$bad": 1}})"), "");
}

TEST(condition, logical_operands_must_be_arrays_of_objects) {
  EXPECT_EQ(error_path(R"({"$and": {}})"), "condition.$and");
  EXPECT_EQ(error_path(R"({"$or": "x"})"), "condition.$or");
  EXPECT_EQ(error_path(R"({"$nor": null})"), "condition.$nor");
  EXPECT_EQ(error_path(R"({"$and": [{"a": 1}, 5]})"), "condition.$and[1]");
  EXPECT_EQ(error_path(R"({"$or": [null]})"), "condition.$or[0]");
  EXPECT_EQ(error_path(R"({"$nor": [{}, []]})"), "condition.$nor[1]");
  EXPECT_EQ(error_path(R"({"$not": [1]})"), "condition.$not");
  EXPECT_EQ(error_path(R"({"$not": null})"), "condition.$not");
  EXPECT_EQ(error_path(R"({"$not": {"a": {"$in": 1}}})"), "condition.$not.a.$in");
}

TEST(condition, list_operands_must_be_arrays) {
  EXPECT_EQ(error_path(R"({"user.country": {"$in": "US"}})"), "condition.user.country.$in");
  EXPECT_EQ(error_path(R"({"x": {"$nin": {"a": 1}}})"), "condition.x.$nin");
  EXPECT_EQ(error_path(R"({"x": {"$all": 1}})"), "condition.x.$all");
  EXPECT_EQ(error_path(R"({"x": {"$all": [1, {"$bad": 2}]}})"), "condition.x.$all[1].$bad");
}

TEST(condition, scalar_operands_are_checked) {
  EXPECT_EQ(error_path(R"({"x": {"$size": "2"}})"), "condition.x.$size");
  EXPECT_EQ(error_path(R"({"x": {"$size": {"a": 1}}})"), "condition.x.$size");
  EXPECT_EQ(error_path(R"({"x": {"$size": {"$foo": 1}}})"), "condition.x.$size.$foo");
  EXPECT_EQ(error_path(R"({"x": {"$exists": 1}})"), "condition.x.$exists");
  EXPECT_EQ(error_path(R"({"x": {"$exists": "yes"}})"), "condition.x.$exists");
  EXPECT_EQ(error_path(R"({"x": {"$regex": 5}})"), "condition.x.$regex");
  EXPECT_EQ(error_path(R"({"x": {"$regex": "("}})"), "condition.x.$regex");
  EXPECT_EQ(error_path(R"({"x": {"$regex": "[a-"}})"), "condition.x.$regex");
  EXPECT_EQ(error_path(R"({"x": {"$type": "integer"}})"), "condition.x.$type");
  EXPECT_EQ(error_path(R"({"x": {"$type": 5}})"), "condition.x.$type");
  EXPECT_EQ(error_path(R"({"x": {"$elemMatch": 5}})"), "condition.x.$elemMatch");
  EXPECT_EQ(error_path(R"({"x": {"$elemMatch": [{"a": 1}]}})"), "condition.x.$elemMatch");
}

TEST(condition, version_operands_must_be_strings_or_numbers) {
  EXPECT_EQ(error_path(R"({"$and": [{"a": 1}, {"app_version": {"$vgt": true}}]})"),
            "condition.$and[1].app_version.$vgt");
  EXPECT_EQ(error_path(R"({"v": {"$veq": null}})"), "condition.v.$veq");
  EXPECT_EQ(error_path(R"({"v": {"$vlte": ["1"]}})"), "condition.v.$vlte");
  EXPECT_EQ(error_path(R"({"v": {"$vne": 2, "$vgte": "1.0.0"}})"), "");
}

TEST(condition, nested_errors_name_the_full_path) {
  EXPECT_EQ(error_path(R"({"$or": [{"$and": [{"a": {"$in": 1}}]}]})"),
            "condition.$or[0].$and[0].a.$in");
  EXPECT_EQ(error_path(R"({"x": {"$elemMatch": {"y": {"$bad": 1}}}})"),
            "condition.x.$elemMatch.y.$bad");
  EXPECT_EQ(error_path(R"({"x": {"$elemMatch": {"$bad": 1}}})"), "condition.x.$elemMatch.$bad");
  // Only '$' keys make an operator object, where $or is not an operator (as in GrowthBook).
  EXPECT_EQ(error_path(R"({"x": {"$elemMatch": {"$or": [{"a": 1}]}}})"),
            "condition.x.$elemMatch.$or");
  EXPECT_EQ(error_path(R"({"x": {"$not": {"$bad": 1}}})"), "condition.x.$not.$bad");
  EXPECT_EQ(error_path(R"({"a": 1, "$nor": [{"b": {"$type": "int"}}]})", "rules[2].condition"),
            "rules[2].condition.$nor[0].b.$type");
}

TEST(condition, errors_carry_a_message) {
  try {
    condition::compile(json::parse(R"({"x": {"$regex": "("}})"));
    FAIL() << "expected a field_error";
  } catch (const field_error& e) {
    EXPECT_NE(std::string(e.what()), "");
  }
}

// ---- Sharing ----------------------------------------------------------------------------------

TEST(condition, copies_share_the_compiled_tree) {
  auto original = condition::compile(json::parse(R"({"a": {"$in": [1, 2]}})"));
  condition copy = original;
  EXPECT_TRUE(copy.matches(json::parse(R"({"a": 2})")));
  EXPECT_FALSE(copy.matches(json::parse(R"({"a": 3})")));
  EXPECT_EQ(copy.empty(), original.empty());
}

TEST(condition, matches_concurrently) {
  auto c = condition::compile(json::parse(R"({
    "email": {"$regex": "@example\\.com$"},
    "app": {"$vgte": "2.1.0"},
    "country": {"$in": ["US", "CA"]}
  })"));
  json yes = json::parse(R"({"email": "a@example.com", "app": "v2.10.1", "country": "CA"})");
  json no = json::parse(R"({"email": "a@example.com", "app": "2.0.9", "country": "CA"})");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (!c.matches(yes) || c.matches(no))
          ++wrong;
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
}

