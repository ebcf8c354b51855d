// Implicit equality, $eq $ne, $gt $gte $lt $lte, $exists, $type and the version comparisons.
#include <string>

#include <gtest/gtest.h>

#include "tests/core/condition_support.hpp"

using namespace expd::test::condition_support;

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

