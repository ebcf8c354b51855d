#include "core/condition.hpp"

#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/field_error.hpp"

using expd::core::condition;
using expd::core::field_error;
using nlohmann::json;

namespace {

bool eval(const std::string& cond, const std::string& context) {
  return condition::compile(json::parse(cond)).matches(json::parse(context));
}

// The path field_error names for `cond`, or "" when it compiles.
std::string error_path(const std::string& cond, const std::string& path = "condition") {
  try {
    condition::compile(json::parse(cond), path);
  } catch (const field_error& e) {
    return e.field();
  }
  return "";
}

} // namespace

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

// ---- String condition values: String(actual) === value -------------------------------

TEST(condition, string_value_equals_string) {
  EXPECT_TRUE(eval(R"({"country": "US"})", R"({"country": "US"})"));
  EXPECT_FALSE(eval(R"({"country": "US"})", R"({"country": "us"})"));
  EXPECT_FALSE(eval(R"({"country": "US"})", R"({"country": "US "})"));
  EXPECT_FALSE(eval(R"({"country": "US"})", R"({})"));
  EXPECT_TRUE(eval(R"({"name": ""})", R"({"name": ""})"));
}

TEST(condition, string_value_coerces_actual_with_js_string) {
  EXPECT_TRUE(eval(R"({"age": "30"})", R"({"age": 30})"));
  EXPECT_TRUE(eval(R"({"age": "30"})", R"({"age": 30.0})"));
  EXPECT_TRUE(eval(R"({"ratio": "1.5"})", R"({"ratio": 1.5})"));
  EXPECT_TRUE(eval(R"({"ratio": "-0.5"})", R"({"ratio": -0.5})"));
  EXPECT_TRUE(eval(R"({"flag": "true"})", R"({"flag": true})"));
  EXPECT_TRUE(eval(R"({"flag": "false"})", R"({"flag": false})"));
  EXPECT_TRUE(eval(R"({"x": "null"})", R"({"x": null})"));
  // GrowthBook's getPath returns null, so a missing attribute is String(null) = "null".
  EXPECT_TRUE(eval(R"({"x": "null"})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": "undefined"})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": "undefined"})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"tags": "a,b"})", R"({"tags": ["a", "b"]})"));
  EXPECT_TRUE(eval(R"({"tags": "1,2,3"})", R"({"tags": [1, [2, 3]]})"));
  EXPECT_TRUE(eval(R"({"tags": ",1,"})", R"({"tags": [null, 1, null]})"));
  EXPECT_TRUE(eval(R"({"tags": ""})", R"({"tags": []})"));
  EXPECT_TRUE(eval(R"({"user": "[object Object]"})", R"({"user": {"a": 1}})"));
}

TEST(condition, string_value_prints_numbers_as_javascript) {
  EXPECT_TRUE(eval(R"({"n": "100"})", R"({"n": 1e2})"));
  EXPECT_TRUE(eval(R"({"n": "123456789012"})", R"({"n": 123456789012})"));
  EXPECT_TRUE(eval(R"({"n": "-42"})", R"({"n": -42})"));
  EXPECT_TRUE(eval(R"({"n": "0.000001"})", R"({"n": 0.000001})"));
  EXPECT_TRUE(eval(R"({"n": "1e-7"})", R"({"n": 0.0000001})"));
  EXPECT_TRUE(eval(R"({"n": "1e+21"})", R"({"n": 1e21})"));
  EXPECT_TRUE(eval(R"({"n": "100000000000000000000"})", R"({"n": 1e20})"));
  EXPECT_TRUE(eval(R"({"n": "1.5e+300"})", R"({"n": 1.5e300})"));
  EXPECT_TRUE(eval(R"({"n": "0.1"})", R"({"n": 0.1})"));
  EXPECT_TRUE(eval(R"({"n": "0"})", R"({"n": -0.0})"));
  // 2^53 + 1 is not a double; JS holds and prints 2^53.
  EXPECT_TRUE(eval(R"({"n": "9007199254740992"})", R"({"n": 9007199254740993})"));
}

// ---- Number condition values: actual * 1 === value ----------------------------------

TEST(condition, number_value_coerces_actual_with_to_number) {
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": 30})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": 30.0})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": "30"})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": " 30\n"})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": "30.0"})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": "3e1"})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": "0x1E"})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": "+30"})"));
  EXPECT_TRUE(eval(R"({"age": 30})", R"({"age": [30]})"));
  EXPECT_FALSE(eval(R"({"age": 30})", R"({"age": "30abc"})"));
  EXPECT_FALSE(eval(R"({"age": 30})", R"({"age": "3 0"})"));
  EXPECT_FALSE(eval(R"({"age": 30})", R"({"age": 31})"));
  EXPECT_FALSE(eval(R"({"age": 30})", R"({})"));
  EXPECT_FALSE(eval(R"({"age": -16})", R"({"age": "-0x10"})"));
  EXPECT_TRUE(eval(R"({"x": 0.5})", R"({"x": ".5"})"));
  EXPECT_TRUE(eval(R"({"x": 5})", R"({"x": "5."})"));
  EXPECT_FALSE(eval(R"({"x": 1})", R"({"x": "1e"})"));
  EXPECT_FALSE(eval(R"({"x": 0})", R"({"x": "."})"));
}

TEST(condition, number_value_coerces_null_booleans_and_empty) {
  EXPECT_TRUE(eval(R"({"x": 0})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"x": 0})", R"({"x": ""})"));
  EXPECT_TRUE(eval(R"({"x": 0})", R"({"x": "   "})"));
  EXPECT_TRUE(eval(R"({"x": 0})", R"({"x": false})"));
  EXPECT_TRUE(eval(R"({"x": 0})", R"({"x": []})"));
  EXPECT_TRUE(eval(R"({"x": 1})", R"({"x": true})"));
  // GrowthBook's getPath returns null, so a missing attribute is null * 1 = 0.
  EXPECT_TRUE(eval(R"({"x": 0})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": 0})", R"({"x": {}})")); // "[object Object]" -> NaN
  EXPECT_FALSE(eval(R"({"x": 1})", R"({"x": [1, 2]})"));
}

// ---- Boolean and null condition values ------------------------------------------------

TEST(condition, boolean_value_compares_truthiness_of_a_defined_non_null_actual) {
  EXPECT_TRUE(eval(R"({"x": true})", R"({"x": true})"));
  EXPECT_TRUE(eval(R"({"x": true})", R"({"x": 1})"));
  EXPECT_TRUE(eval(R"({"x": true})", R"({"x": "no"})"));
  EXPECT_TRUE(eval(R"({"x": true})", R"({"x": []})"));
  EXPECT_TRUE(eval(R"({"x": true})", R"({"x": {}})"));
  EXPECT_FALSE(eval(R"({"x": true})", R"({"x": 0})"));
  EXPECT_FALSE(eval(R"({"x": true})", R"({"x": ""})"));
  EXPECT_FALSE(eval(R"({"x": true})", R"({"x": null})"));
  EXPECT_FALSE(eval(R"({"x": true})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": false})", R"({"x": false})"));
  EXPECT_TRUE(eval(R"({"x": false})", R"({"x": 0})"));
  EXPECT_TRUE(eval(R"({"x": false})", R"({"x": ""})"));
  EXPECT_FALSE(eval(R"({"x": false})", R"({"x": "0"})"));
  EXPECT_FALSE(eval(R"({"x": false})", R"({"x": null})"));
  EXPECT_FALSE(eval(R"({"x": false})", R"({})"));
}

TEST(condition, null_value_matches_null_and_missing) {
  EXPECT_TRUE(eval(R"({"x": null})", R"({"x": null})"));
  // GrowthBook's getPath returns null, so a missing attribute is null.
  EXPECT_TRUE(eval(R"({"x": null})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": null})", R"({"x": 0})"));
  EXPECT_FALSE(eval(R"({"x": null})", R"({"x": ""})"));
  EXPECT_FALSE(eval(R"({"x": null})", R"({"x": false})"));
}

// ---- Deep equality for arrays and non-operator objects -------------------------------

TEST(condition, array_value_is_deep_equality) {
  EXPECT_TRUE(eval(R"({"x": [1, 2]})", R"({"x": [1, 2]})"));
  EXPECT_TRUE(eval(R"({"x": [1, 2]})", R"({"x": [1.0, 2]})"));
  EXPECT_FALSE(eval(R"({"x": [1, 2]})", R"({"x": [2, 1]})"));
  EXPECT_FALSE(eval(R"({"x": [1, 2]})", R"({"x": [1, 2, 3]})"));
  EXPECT_FALSE(eval(R"({"x": [1, 2]})", R"({"x": ["1", "2"]})"));
  EXPECT_FALSE(eval(R"({"x": [1, 2]})", R"({"x": "1,2"})"));
  EXPECT_FALSE(eval(R"({"x": [1, 2]})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": []})", R"({"x": []})"));
  EXPECT_FALSE(eval(R"({"x": []})", R"({"x": {}})"));
}

TEST(condition, plain_object_value_is_deep_equality) {
  EXPECT_TRUE(eval(R"({"x": {"a": 1, "b": [true]}})", R"({"x": {"b": [true], "a": 1}})"));
  EXPECT_FALSE(eval(R"({"x": {"a": 1}})", R"({"x": {"a": 1, "b": 2}})"));
  EXPECT_FALSE(eval(R"({"x": {"a": 1}})", R"({"x": {"a": "1"}})"));
  EXPECT_TRUE(eval(R"({"x": {}})", R"({"x": {}})"));
  EXPECT_FALSE(eval(R"({"x": {}})", R"({"x": {"a": 1}})"));
  EXPECT_FALSE(eval(R"({"x": {}})", R"({})"));
  // Not every key starts with '$', so this is a literal, not operators.
  EXPECT_TRUE(eval(R"({"x": {"$gt": 1, "y": 2}})", R"({"x": {"$gt": 1, "y": 2}})"));
  EXPECT_FALSE(eval(R"({"x": {"$gt": 1, "y": 2}})", R"({"x": 5})"));
}

// ---- $eq $ne: strict equality -----------------------------------------------------------

TEST(condition, eq_is_strict) {
  EXPECT_TRUE(eval(R"({"x": {"$eq": 30}})", R"({"x": 30})"));
  EXPECT_TRUE(eval(R"({"x": {"$eq": 30}})", R"({"x": 30.0})"));
  EXPECT_FALSE(eval(R"({"x": {"$eq": 30}})", R"({"x": "30"})"));
  EXPECT_TRUE(eval(R"({"x": {"$eq": "a"}})", R"({"x": "a"})"));
  EXPECT_FALSE(eval(R"({"x": {"$eq": true}})", R"({"x": 1})"));
  EXPECT_TRUE(eval(R"({"x": {"$eq": false}})", R"({"x": false})"));
  EXPECT_TRUE(eval(R"({"x": {"$eq": null}})", R"({"x": null})"));
  // GrowthBook's getPath returns null, so a missing attribute === null.
  EXPECT_TRUE(eval(R"({"x": {"$eq": null}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$eq": 0}})", R"({"x": null})"));
  // Arrays and objects are never === in JS.
  EXPECT_FALSE(eval(R"({"x": {"$eq": [1]}})", R"({"x": [1]})"));
  EXPECT_FALSE(eval(R"({"x": {"$eq": {"a": 1}}})", R"({"x": {"a": 1}})"));
}

TEST(condition, ne_is_strict) {
  EXPECT_TRUE(eval(R"({"x": {"$ne": 30}})", R"({"x": 31})"));
  EXPECT_FALSE(eval(R"({"x": {"$ne": 30}})", R"({"x": 30})"));
  EXPECT_TRUE(eval(R"({"x": {"$ne": 30}})", R"({"x": "30"})"));
  EXPECT_TRUE(eval(R"({"x": {"$ne": 30}})", R"({})"));
  // GrowthBook's getPath returns null, so a missing attribute is not !== null.
  EXPECT_FALSE(eval(R"({"x": {"$ne": null}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$ne": null}})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"x": {"$ne": [1]}})", R"({"x": [1]})"));
}

// ---- $lt $lte $gt $gte: JS relational comparison -------------------------------------

TEST(condition, relational_on_numbers) {
  EXPECT_TRUE(eval(R"({"age": {"$gt": 18}})", R"({"age": 19})"));
  EXPECT_FALSE(eval(R"({"age": {"$gt": 18}})", R"({"age": 18})"));
  EXPECT_TRUE(eval(R"({"age": {"$gte": 18}})", R"({"age": 18})"));
  EXPECT_TRUE(eval(R"({"age": {"$lt": 18}})", R"({"age": 17.5})"));
  EXPECT_FALSE(eval(R"({"age": {"$lt": 18}})", R"({"age": 18})"));
  EXPECT_TRUE(eval(R"({"age": {"$lte": 18}})", R"({"age": 18})"));
  EXPECT_TRUE(eval(R"({"age": {"$gt": 10, "$lt": 20}})", R"({"age": 15})"));
  EXPECT_FALSE(eval(R"({"age": {"$gt": 10, "$lt": 20}})", R"({"age": 25})"));
  EXPECT_FALSE(eval(R"({"age": {"$gt": 10, "$lt": 20}})", R"({"age": 10})"));
}

TEST(condition, relational_between_string_and_number_is_numeric) {
  EXPECT_TRUE(eval(R"({"age": {"$gt": 18}})", R"({"age": "19"})"));
  EXPECT_FALSE(eval(R"({"age": {"$gt": 18}})", R"({"age": "abc"})"));
  EXPECT_FALSE(eval(R"({"age": {"$lte": 18}})", R"({"age": "abc"})"));
  EXPECT_TRUE(eval(R"({"age": {"$lt": "10"}})", R"({"age": 9})"));
  EXPECT_FALSE(eval(R"({"age": {"$gt": "b"}})", R"({"age": 5})"));
  EXPECT_FALSE(eval(R"({"age": {"$lt": "b"}})", R"({"age": 5})"));
}

TEST(condition, relational_between_strings_is_lexicographic) {
  EXPECT_TRUE(eval(R"({"s": {"$gt": "b"}})", R"({"s": "c"})"));
  EXPECT_TRUE(eval(R"({"s": {"$gt": "b"}})", R"({"s": "ba"})"));
  EXPECT_FALSE(eval(R"({"s": {"$gt": "b"}})", R"({"s": "a"})"));
  EXPECT_FALSE(eval(R"({"s": {"$gt": "b"}})", R"({"s": "B"})"));
  EXPECT_FALSE(eval(R"({"s": {"$lt": "10"}})", R"({"s": "9"})"));
  EXPECT_TRUE(eval(R"({"s": {"$lte": "abc"}})", R"({"s": "abc"})"));
  EXPECT_TRUE(eval(R"({"s": {"$gte": "abc"}})", R"({"s": "abc"})"));
  EXPECT_TRUE(eval(R"({"d": {"$gte": "2024-01-01"}})", R"({"d": "2024-06-30"})"));
}

TEST(condition, relational_with_null_missing_and_booleans) {
  EXPECT_FALSE(eval(R"({"x": {"$gt": 18}})", R"({})"));
  // GrowthBook's getPath returns null, so a missing attribute compares as 0.
  EXPECT_TRUE(eval(R"({"x": {"$lt": 18}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$gte": "a"}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$gt": 18}})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"x": {"$lt": 18}})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"x": {"$gte": 0}})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"x": {"$gt": 0}})", R"({"x": true})"));
  EXPECT_TRUE(eval(R"({"x": {"$lt": 1}})", R"({"x": false})"));
  EXPECT_TRUE(eval(R"({"x": {"$lte": null}})", R"({"x": 0})"));
  EXPECT_TRUE(eval(R"({"x": {"$lte": null}})", R"({"x": -1})"));
  EXPECT_FALSE(eval(R"({"x": {"$lte": null}})", R"({"x": 1})"));
  // GrowthBook's getPath returns null, and null <= null.
  EXPECT_TRUE(eval(R"({"x": {"$lte": null}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$gt": false}})", R"({"x": "1"})"));
}

TEST(condition, relational_converts_arrays_to_primitives) {
  EXPECT_TRUE(eval(R"({"x": {"$gt": 4}})", R"({"x": [5]})"));
  EXPECT_FALSE(eval(R"({"x": {"$gt": 4}})", R"({"x": [1, 2]})"));
  EXPECT_TRUE(eval(R"({"x": {"$gt": "a"}})", R"({"x": ["b"]})"));
  EXPECT_FALSE(eval(R"({"x": {"$gt": 0}})", R"({"x": {"a": 1}})"));
  EXPECT_TRUE(eval(R"({"x": {"$gt": "["}})", R"({"x": {"a": 1}})")); // "[object Object]"
}

// ---- $exists ------------------------------------------------------------------------------

TEST(condition, exists) {
  EXPECT_TRUE(eval(R"({"x": {"$exists": true}})", R"({"x": 0})"));
  EXPECT_TRUE(eval(R"({"x": {"$exists": true}})", R"({"x": ""})"));
  EXPECT_TRUE(eval(R"({"x": {"$exists": true}})", R"({"x": false})"));
  EXPECT_FALSE(eval(R"({"x": {"$exists": true}})", R"({"x": null})"));
  EXPECT_FALSE(eval(R"({"x": {"$exists": true}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$exists": false}})", R"({})"));
  EXPECT_TRUE(eval(R"({"x": {"$exists": false}})", R"({"x": null})"));
  EXPECT_FALSE(eval(R"({"x": {"$exists": false}})", R"({"x": 0})"));
}

// ---- $in $nin -------------------------------------------------------------------------------

TEST(condition, in_uses_strict_equality) {
  EXPECT_TRUE(eval(R"({"c": {"$in": ["US", "CA"]}})", R"({"c": "US"})"));
  EXPECT_TRUE(eval(R"({"c": {"$in": ["US", "CA"]}})", R"({"c": "CA"})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": ["US", "CA"]}})", R"({"c": "MX"})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": ["US", "CA"]}})", R"({})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": [1, 2]}})", R"({"c": "1"})"));
  EXPECT_TRUE(eval(R"({"c": {"$in": [1, 2]}})", R"({"c": 2.0})"));
  EXPECT_TRUE(eval(R"({"c": {"$in": [1.5, 2]}})", R"({"c": 1.5})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": ["1"]}})", R"({"c": 1})"));
  EXPECT_TRUE(eval(R"({"c": {"$in": [null]}})", R"({"c": null})"));
  // GrowthBook's getPath returns null, so a missing attribute is in [null].
  EXPECT_TRUE(eval(R"({"c": {"$in": [null]}})", R"({})"));
  EXPECT_TRUE(eval(R"({"c": {"$in": [true]}})", R"({"c": true})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": [true]}})", R"({"c": 1})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": [false]}})", R"({"c": true})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": []}})", R"({"c": "US"})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": [{"a": 1}]}})", R"({"c": {"a": 1}})"));
}

TEST(condition, in_with_array_actual_intersects) {
  EXPECT_TRUE(eval(R"({"tags": {"$in": ["a", "b"]}})", R"({"tags": ["x", "b"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$in": ["a", "b"]}})", R"({"tags": ["x", "y"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$in": ["a", "b"]}})", R"({"tags": []})"));
  EXPECT_FALSE(eval(R"({"tags": {"$in": [1]}})", R"({"tags": [[1]]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$in": [1, "a"]}})", R"({"tags": [null, 1]})"));
}

TEST(condition, nin_is_the_negation_of_in) {
  EXPECT_TRUE(eval(R"({"c": {"$nin": ["US", "CA"]}})", R"({"c": "MX"})"));
  EXPECT_FALSE(eval(R"({"c": {"$nin": ["US", "CA"]}})", R"({"c": "US"})"));
  EXPECT_TRUE(eval(R"({"c": {"$nin": ["US", "CA"]}})", R"({})"));
  EXPECT_TRUE(eval(R"({"c": {"$nin": [1]}})", R"({"c": "1"})"));
  EXPECT_FALSE(eval(R"({"tags": {"$nin": ["a", "b"]}})", R"({"tags": ["x", "b"]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$nin": ["a", "b"]}})", R"({"tags": ["x"]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$nin": ["a", "b"]}})", R"({"tags": []})"));
}

TEST(condition, in_with_a_long_list) {
  json ids = json::array();
  for (int i = 0; i < 1000; ++i)
    ids.push_back("user-" + std::to_string(i));
  auto c = condition::compile(json{{"id", {{"$in", ids}}}});
  EXPECT_TRUE(c.matches(json{{"id", "user-0"}}));
  EXPECT_TRUE(c.matches(json{{"id", "user-999"}}));
  EXPECT_TRUE(c.matches(json{{"id", "user-500"}}));
  EXPECT_FALSE(c.matches(json{{"id", "user-1000"}}));
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

// ---- $size $elemMatch $all ------------------------------------------------------------------

TEST(condition, size) {
  EXPECT_TRUE(eval(R"({"tags": {"$size": 2}})", R"({"tags": ["a", "b"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$size": 2}})", R"({"tags": ["a"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$size": 2}})", R"({"tags": "ab"})"));
  EXPECT_FALSE(eval(R"({"tags": {"$size": 2}})", R"({"tags": {"a": 1, "b": 2}})"));
  EXPECT_FALSE(eval(R"({"tags": {"$size": 0}})", R"({})"));
  EXPECT_TRUE(eval(R"({"tags": {"$size": 0}})", R"({"tags": []})"));
}

TEST(condition, size_with_nested_operators) {
  EXPECT_TRUE(eval(R"({"tags": {"$size": {"$gt": 1}}})", R"({"tags": [1, 2]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$size": {"$gt": 1}}})", R"({"tags": [1]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$size": {"$gte": 1, "$lte": 3}}})", R"({"tags": [1, 2, 3]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$size": {"$gte": 1, "$lte": 3}}})", R"({"tags": []})"));
  EXPECT_TRUE(eval(R"({"tags": {"$size": {"$in": [0, 2]}}})", R"({"tags": [1, 2]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$size": {"$type": "number"}}})", R"({"tags": []})"));
}

TEST(condition, elem_match_with_operators_tests_each_element) {
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$gt": 90}}})", R"({"s": [50, 95]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$gt": 90}}})", R"({"s": [50, 90]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$gt": 90}}})", R"({"s": []})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$gt": 90}}})", R"({"s": 95})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$gt": 90}}})", R"({})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$gt": 1, "$lt": 3}}})", R"({"s": [0, 2, 4]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$gt": 1, "$lt": 3}}})", R"({"s": [0, 4]})"));
  // GrowthBook tests `actual[i] && check(actual[i])`, so a falsy 0 is skipped.
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$eq": 0}}})", R"({"s": [0]})"));
}

TEST(condition, elem_match_skips_falsy_elements) {
  // GrowthBook tests `actual[i] && check(actual[i])`: 0, -0, NaN, "", false and null never
  // match, whatever the test.
  const char* not_1 = R"({"s": {"$elemMatch": {"$ne": 1}}})";
  EXPECT_FALSE(eval(not_1, R"({"s": [0, -0.0, "", false, null]})"));
  EXPECT_TRUE(eval(not_1, R"({"s": [0, 2]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$eq": ""}}})", R"({"s": [""]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$eq": false}}})", R"({"s": [false]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$type": "null"}}})", R"({"s": [null]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$in": [0, 1]}}})", R"({"s": [0]})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$in": [0, 1]}}})", R"({"s": [0, 1]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"$lt": 1}}})", R"({"s": [0, 0.0, -0.0]})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$lt": 1}}})", R"({"s": [0, -1]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {}}})", R"({"s": [0, "", null, false]})"));
  EXPECT_FALSE(eval(R"({"s": {"$elemMatch": {"a": {"$exists": false}}}})", R"({"s": [null, 0]})"));
  auto not_one = condition::compile(json::parse(not_1));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(not_one.matches(json{{"s", json::array({nan})}}));
  EXPECT_TRUE(not_one.matches(json{{"s", json::array({nan, 2})}}));
  // Truthy values that look empty still count.
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$eq": "0"}}})", R"({"s": ["0"]})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$size": 0}}})", R"({"s": [[]]})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {}}})", R"({"s": [{}]})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"a": {"$exists": false}}}})", R"({"s": ["x"]})"));
  EXPECT_TRUE(eval(R"({"s": {"$elemMatch": {"$eq": true}}})", R"({"s": [false, true]})"));
}

TEST(condition, elem_match_with_a_condition_tests_each_element_as_an_object) {
  const char* cond = R"({"orders": {"$elemMatch": {"status": "paid", "total": {"$gt": 100}}}})";
  EXPECT_TRUE(eval(cond, R"({"orders": [{"status": "open", "total": 500},
                                          {"status": "paid", "total": 150}]})"));
  EXPECT_FALSE(eval(cond, R"({"orders": [{"status": "open", "total": 500},
                                           {"status": "paid", "total": 50}]})"));
  EXPECT_FALSE(eval(cond, R"({"orders": [1, "paid", null]})"));
  EXPECT_FALSE(eval(cond, R"({"orders": {"status": "paid", "total": 150}})"));
  // With a plain key beside it, $or is a condition clause on each element.
  const char* either = R"({"o": {"$elemMatch": {"$or": [{"a": 1}, {"b": 2}], "c": 3}}})";
  EXPECT_TRUE(eval(either, R"({"o": [{"a": 0, "c": 3}, {"b": 2, "c": 3}]})"));
  EXPECT_FALSE(eval(either, R"({"o": [{"a": 1}, {"b": 2, "c": 4}]})"));
  EXPECT_TRUE(eval(R"({"o": {"$elemMatch": {"1": "b"}}})", R"({"o": [["a", "b"]]})"));
  EXPECT_TRUE(eval(R"({"o": {"$elemMatch": {}}})", R"({"o": [1]})"));
  EXPECT_FALSE(eval(R"({"o": {"$elemMatch": {}}})", R"({"o": []})"));
}

TEST(condition, all_needs_every_value_matched_by_some_element) {
  EXPECT_TRUE(eval(R"({"tags": {"$all": ["a", "b"]}})", R"({"tags": ["b", "c", "a"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": ["a", "b"]}})", R"({"tags": ["a"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": ["a", "b"]}})", R"({"tags": []})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": ["a"]}})", R"({"tags": "a"})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": ["a"]}})", R"({})"));
  EXPECT_TRUE(eval(R"({"tags": {"$all": []}})", R"({"tags": []})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": []}})", R"({})"));
  // Each value is a condition value, so it coerces and may hold operators.
  EXPECT_TRUE(eval(R"({"tags": {"$all": ["1"]}})", R"({"tags": [1]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$all": [{"$gt": 5}, "x"]}})", R"({"tags": [1, 10, "x"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": [{"$gt": 5}, "x"]}})", R"({"tags": [1, "x"]})"));
}

// ---- $regex ---------------------------------------------------------------------------------

// Found by tests/fuzz (condition): the backtracking matcher took exponential time on
// nested quantifiers ("F***...", here "(a*)*b") and recursed once per character of the
// value, so a 20 KB context string crashed the process.
TEST(condition, regex_neither_backtracks_nor_overflows_the_stack) {
  EXPECT_TRUE(condition::compile(json::parse(R"({"e": {"$regex": "^(a|b)*$"}})"))
                .matches(json{{"e", std::string(200000, 'a')}}));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "(a*)*b"}})", R"({"e": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})"));
  EXPECT_EQ(error_path(R"({"e": {"$regex": "(a)\\1"}})"), "condition.e.$regex");
  EXPECT_EQ(error_path(R"x({"e": {"$regex": "a(?=b)"}})x"), "condition.e.$regex");
}

// libstdc++'s automaton, which replaced backtracking above, restarts an unanchored
// search at every position: "(a|aa)*c" took 0.35 s on 2 KB, 1.9 s on 4 KB and 8.4 s on
// 8 KB of "a", so one 1 MiB context string would hold a shard for hours. RE2 is linear.
TEST(condition, regex_takes_time_linear_in_the_value) {
  json context{{"e", std::string(1 << 20, 'a')}};
  EXPECT_FALSE(condition::compile(json::parse(R"({"e": {"$regex": "(a|aa)*c"}})")).matches(context));
  EXPECT_TRUE(condition::compile(json::parse(R"({"e": {"$regex": "a{3}$"}})")).matches(context));
}

TEST(condition, regex_searches_the_string_form) {
  EXPECT_TRUE(eval(R"({"e": {"$regex": "@example\\.com$"}})", R"({"e": "bob@example.com"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "@example\\.com$"}})", R"({"e": "bob@example.org"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "@example\\.com$"}})", R"({"e": "bob@exampleXcom"})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "ell"}})", R"({"e": "hello"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^ell"}})", R"({"e": "hello"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "ell"}})", R"({"e": "HELLO"})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^\\d+$"}})", R"({"e": 123})"));
  // GrowthBook's getPath returns null, so a missing attribute is tested as "null".
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^undefined$"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^null$"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^null$"}})", R"({"e": null})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^a,b$"}})", R"({"e": ["a", "b"]})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "(foo|bar)[0-9]{2}"}})", R"({"e": "xbar42y"})"));
  // Without the m flag, ^ anchors only at the start of the input.
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^b"}})", R"({"e": "a\nb"})"));
}

// ---- $type ----------------------------------------------------------------------------------

TEST(condition, type_names_every_js_type) {
  EXPECT_TRUE(eval(R"({"x": {"$type": "null"}})", R"({"x": null})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "array"}})", R"({"x": [1]})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "string"}})", R"({"x": ""})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "number"}})", R"({"x": 1})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "number"}})", R"({"x": -1})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "number"}})", R"({"x": 1.5})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "boolean"}})", R"({"x": false})"));
  EXPECT_TRUE(eval(R"({"x": {"$type": "object"}})", R"({"x": {}})"));
  // GrowthBook's getPath returns null, so a missing attribute's type is "null".
  EXPECT_TRUE(eval(R"({"x": {"$type": "null"}})", R"({})"));
}

TEST(condition, type_rejects_other_types) {
  EXPECT_FALSE(eval(R"({"x": {"$type": "object"}})", R"({"x": null})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "object"}})", R"({"x": []})"));
  // GrowthBook's getPath returns null, so "undefined" is a valid name that nothing has.
  EXPECT_FALSE(eval(R"({"x": {"$type": "undefined"}})", R"({})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "undefined"}})", R"({"x": null})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "undefined"}})", R"({"x": 1})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "number"}})", R"({"x": "1"})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "string"}})", R"({"x": 1})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "boolean"}})", R"({"x": 0})"));
  EXPECT_FALSE(eval(R"({"x": {"$type": "array"}})", R"({"x": {"0": 1}})"));
}

// ---- Versions -------------------------------------------------------------------------------

TEST(condition, version_compares_numeric_parts_as_numbers) {
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "1.9.0"}})", R"({"v": "1.10.0"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "1.9"}})", R"({"v": "1.10"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "9.0.0"}})", R"({"v": "10.0.0"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "1.2.3"}})", R"({"v": "1.2.4"})"));
  EXPECT_FALSE(eval(R"({"v": {"$vgt": "1.2.3"}})", R"({"v": "1.2.3"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgte": "1.2.3"}})", R"({"v": "1.2.3"})"));
  EXPECT_FALSE(eval(R"({"v": {"$vgte": "1.2.3"}})", R"({"v": "1.2.2"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "1.2.3"}})", R"({"v": "1.2.2"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vlte": "1.2.3"}})", R"({"v": "1.2.3"})"));
  EXPECT_FALSE(eval(R"({"v": {"$vlte": "1.2.3"}})", R"({"v": "1.3.0"})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": "1.2.3"}})", R"({"v": "1.2.3"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vne": "1.2.3"}})", R"({"v": "1.2.4"})"));
  EXPECT_FALSE(eval(R"({"v": {"$vne": "1.2.3"}})", R"({"v": "1.2.3"})"));
}

TEST(condition, version_strips_leading_v_and_build_metadata) {
  EXPECT_TRUE(eval(R"({"v": {"$veq": "1.2.3"}})", R"({"v": "v1.2.3+build.5"})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": "v1.2.3"}})", R"({"v": "1.2.3+other"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "v1.2.3"}})", R"({"v": "v1.2.4"})"));
  EXPECT_FALSE(eval(R"({"v": {"$veq": "1.2.3"}})", R"({"v": "V1.2.3"})"));
}

TEST(condition, version_pre_releases_sort_before_the_release) {
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "1.2.3"}})", R"({"v": "1.2.3-beta"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "1.2.3-beta"}})", R"({"v": "1.2.3"})"));
  EXPECT_FALSE(eval(R"({"v": {"$veq": "1.2.3"}})", R"({"v": "1.2.3-beta"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "1.2.3-beta"}})", R"({"v": "1.2.3-alpha"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "1.2.3-rc.2"}})", R"({"v": "1.2.3-rc.1"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "1.2.3-rc.10"}})", R"({"v": "1.2.3-rc.9"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "1.2.2"}})", R"({"v": "1.2.3-beta"})"));
}

TEST(condition, version_of_numbers_and_non_strings) {
  // A number is its string form; a missing, null, empty or non-string value is "0".
  EXPECT_TRUE(eval(R"({"v": {"$vgt": "1.9.9"}})", R"({"v": 2})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": 1.5}})", R"({"v": "1.5"})"));
  EXPECT_TRUE(eval(R"({"v": {"$vgt": 1}})", R"({"v": "1.0.1"})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": "0"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": "0"}})", R"({"v": null})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": "0"}})", R"({"v": ""})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": "0"}})", R"({"v": true})"));
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "0.0.1"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"v": {"$veq": ""}})", R"({"v": "0"})"));
  // Fewer parts sort first: "1.2" is not "1.2.0".
  EXPECT_TRUE(eval(R"({"v": {"$vlt": "1.2.0"}})", R"({"v": "1.2"})"));
  EXPECT_FALSE(eval(R"({"v": {"$veq": "1.2.0"}})", R"({"v": "1.2"})"));
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
  EXPECT_EQ(error_path(R"({"$foo": 1})"), "condition.$foo");
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
