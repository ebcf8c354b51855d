// $in $nin $ini $nini, $size $elemMatch $all $alli.
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "tests/core/condition_support.hpp"

using namespace expd::test::condition_support;

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

// ---- $ini $nini: $in and $nin with strings compared by their toLowerCase() ---------------

TEST(condition, ini_compares_strings_case_insensitively) {
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["us", "CA"]}})", R"({"c": "US"})"));
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["us", "CA"]}})", R"({"c": "ca"})"));
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["us", "CA"]}})", R"({"c": "uS"})"));
  EXPECT_FALSE(eval(R"({"c": {"$ini": ["us", "CA"]}})", R"({"c": "USA"})"));
  EXPECT_FALSE(eval(R"({"c": {"$in": ["us"]}})", R"({"c": "US"})")); // $in stays exact
}

TEST(condition, ini_with_an_array_actual_intersects) {
  EXPECT_TRUE(eval(R"({"tags": {"$ini": ["BETA"]}})", R"({"tags": ["x", "Beta"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$ini": ["BETA"]}})", R"({"tags": ["x", "alpha"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$ini": ["BETA"]}})", R"({"tags": []})"));
}

TEST(condition, ini_leaves_other_types_strict) {
  // GrowthBook folds only strings and compares with ===.
  EXPECT_TRUE(eval(R"({"n": {"$ini": [1, "a"]}})", R"({"n": 1})"));
  EXPECT_FALSE(eval(R"({"n": {"$ini": [1]}})", R"({"n": "1"})"));
  EXPECT_FALSE(eval(R"({"n": {"$ini": ["1"]}})", R"({"n": 1})"));
  EXPECT_TRUE(eval(R"({"b": {"$ini": [true]}})", R"({"b": true})"));
  EXPECT_FALSE(eval(R"({"b": {"$ini": ["TRUE"]}})", R"({"b": true})"));
  EXPECT_FALSE(eval(R"({"o": {"$ini": [{"a": 1}]}})", R"({"o": {"a": 1}})"));
}

TEST(condition, ini_and_nini_with_a_missing_attribute) {
  EXPECT_FALSE(eval(R"({"c": {"$ini": ["null", "NULL"]}})", "{}")); // null is not "null"
  EXPECT_TRUE(eval(R"({"c": {"$ini": [null]}})", "{}"));
  EXPECT_TRUE(eval(R"({"c": {"$nini": ["us"]}})", "{}"));
  EXPECT_FALSE(eval(R"({"c": {"$nini": [null]}})", "{}"));
}

TEST(condition, ini_folds_unicode_as_javascript_does) {
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["école"]}})", R"({"c": "ÉCOLE"})"));
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["ÉCOLE"]}})", R"({"c": "école"})"));
  // toLowerCase, not case folding: "SS" does not become "ß", and "İ" becomes "i̇".
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["straße"]}})", R"({"c": "STRAßE"})"));
  EXPECT_FALSE(eval(R"({"c": {"$ini": ["straße"]}})", R"({"c": "STRASSE"})"));
  EXPECT_FALSE(eval(R"({"c": {"$ini": ["istanbul"]}})", R"({"c": "İstanbul"})"));
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["i̇stanbul"]}})", R"({"c": "İSTANBUL"})"));
  // A final capital sigma lower-cases to "ς", as in V8.
  EXPECT_TRUE(eval(R"({"c": {"$ini": ["ΟΔΟΣ"]}})", R"({"c": "οδος"})"));
  EXPECT_FALSE(eval(R"({"c": {"$ini": ["ΟΔΟΣ"]}})", R"({"c": "οδοσ"})"));
}

TEST(condition, nini_is_the_negation_of_ini) {
  EXPECT_FALSE(eval(R"({"c": {"$nini": ["us", "CA"]}})", R"({"c": "Us"})"));
  EXPECT_TRUE(eval(R"({"c": {"$nini": ["us", "CA"]}})", R"({"c": "MX"})"));
  EXPECT_FALSE(eval(R"({"tags": {"$nini": ["a"]}})", R"({"tags": ["b", "A"]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$nini": ["a"]}})", R"({"tags": []})"));
}

TEST(condition, ini_nini_operands_must_be_arrays) {
  EXPECT_EQ(error_path(R"({"c": {"$ini": "us"}})"), "condition.c.$ini");
  EXPECT_EQ(error_path(R"({"c": {"$nini": {"a": 1}}})", "experiments[2].condition"),
            "experiments[2].condition.c.$nini");
  EXPECT_EQ(error_path(R"({"c": {"$ini": null}})"), "condition.c.$ini");
}

// ---- $alli: $all with string values compared by their toLowerCase() -----------------------

TEST(condition, alli_needs_every_value_matched_case_insensitively) {
  EXPECT_TRUE(eval(R"({"tags": {"$alli": ["BETA", "ios"]}})", R"({"tags": ["iOS", "x", "Beta"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$alli": ["BETA", "ios"]}})", R"({"tags": ["iOS", "x"]})"));
  EXPECT_FALSE(eval(R"({"tags": {"$all": ["BETA"]}})", R"({"tags": ["beta"]})"));
  EXPECT_TRUE(eval(R"({"tags": {"$alli": ["ÉTÉ"]}})", R"({"tags": ["été"]})"));
}

TEST(condition, alli_compares_the_string_form_of_elements) {
  // String(element).toLowerCase() === value.toLowerCase()
  EXPECT_TRUE(eval(R"({"t": {"$alli": ["1"]}})", R"({"t": [1]})"));
  EXPECT_TRUE(eval(R"({"t": {"$alli": ["TRUE"]}})", R"({"t": [true]})"));
  EXPECT_TRUE(eval(R"({"t": {"$alli": ["NULL"]}})", R"({"t": [null]})"));
  EXPECT_TRUE(eval(R"({"t": {"$alli": ["A,B"]}})", R"({"t": [["a", "b"]]})"));
  // Numbers and operator objects compare as in $all: case does not enter.
  EXPECT_TRUE(eval(R"({"t": {"$alli": [1]}})", R"({"t": ["1"]})"));
  EXPECT_FALSE(eval(R"({"t": {"$alli": [{"$eq": "A"}]}})", R"({"t": ["a"]})"));
  EXPECT_TRUE(eval(R"({"t": {"$alli": [{"$eq": "A"}]}})", R"({"t": ["A"]})"));
}

TEST(condition, alli_never_matches_a_non_array) {
  EXPECT_FALSE(eval(R"({"t": {"$alli": ["a"]}})", R"({"t": "a"})"));
  EXPECT_FALSE(eval(R"({"t": {"$alli": []}})", R"({"t": "a"})"));
  EXPECT_FALSE(eval(R"({"t": {"$alli": []}})", "{}"));
  EXPECT_TRUE(eval(R"({"t": {"$alli": []}})", R"({"t": []})"));
}

TEST(condition, alli_operand_is_checked) {
  EXPECT_EQ(error_path(R"({"t": {"$alli": "a"}})"), "condition.t.$alli");
  EXPECT_EQ(error_path(R"({"t": {"$alli": ["a", {"$regexi": "("}]}})"), "condition.t.$alli[1].$regexi");
}
