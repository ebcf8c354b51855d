#include "tools/yaml_json.hpp"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

using expd::tools::yaml_error;
using expd::tools::yaml_file_to_json;
using expd::tools::yaml_text_to_json;
using expd::tools::yaml_to_json;
using nlohmann::json;

namespace {

json convert(const std::string& yaml) {
  return yaml_text_to_json(yaml);
}

// The message of the yaml_error that converting `yaml` throws; fails the test if none.
std::string error_of(const std::string& yaml) {
  try {
    json result = convert(yaml);
    ADD_FAILURE() << "no error for:\n" << yaml << "\ngot: " << result.dump();
  } catch (const yaml_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(yaml_json, onboarding_spec_example) {
  const std::string spec = R"(
experiments:
  - name: planner_policy_exp
    unit_type: user
    variants:
      - name: control
        allocation: 0.5
        config:
          policy_version_id: "uuid-v1"
      - name: leftovers_v2
        allocation: 0.5
        config:
          policy_version_id: "uuid-v2"
          params:
            exploration_rate: 0.2
)";
  const json expected = json::parse(R"({
    "experiments": [{
      "name": "planner_policy_exp",
      "unit_type": "user",
      "variants": [
        {"name": "control", "allocation": 0.5, "config": {"policy_version_id": "uuid-v1"}},
        {"name": "leftovers_v2", "allocation": 0.5,
         "config": {"policy_version_id": "uuid-v2", "params": {"exploration_rate": 0.2}}}
      ]
    }]
  })");
  EXPECT_EQ(convert(spec), expected);
}

TEST(yaml_json, version_like_scalars_stay_strings) {
  EXPECT_EQ(convert("a: \"1.2.3\""), json({{"a", "1.2.3"}}));
  EXPECT_EQ(convert("a: 1.2.3"), json({{"a", "1.2.3"}}));
  EXPECT_EQ(convert("a: 1.2.0-beta"), json({{"a", "1.2.0-beta"}}));
}

TEST(yaml_json, integers_follow_the_core_schema) {
  const json j = convert(R"(
plain: 42
negative: -7
plus: +3
zero: 0
leading_zero: 007
octal: 0o17
hex: 0x1F
max: 9223372036854775807
min: -9223372036854775808
unsigned: 18446744073709551615
)");
  EXPECT_EQ(j, json::parse(R"({"plain": 42, "negative": -7, "plus": 3, "zero": 0,
    "leading_zero": 7, "octal": 15, "hex": 31, "max": 9223372036854775807,
    "min": -9223372036854775808, "unsigned": 18446744073709551615})"));
  for (const auto& [key, value] : j.items()) {
    EXPECT_TRUE(value.is_number_integer()) << key;
  }
  EXPECT_NE(error_of("a: 18446744073709551616").find("integer out of range"), std::string::npos);
  EXPECT_NE(error_of("a: -9223372036854775809").find("integer out of range"), std::string::npos);
  // Not core-schema integers: the YAML 1.1 forms and uppercase prefixes.
  EXPECT_EQ(convert("[0b101, 017_000, 0X1F, 0o8]"), json({"0b101", "017_000", "0X1F", "0o8"}));
}

TEST(yaml_json, floats_follow_the_core_schema) {
  const json j = convert("[1.5, .5, 1e3, -2.5E-3, 1., +0.25]");
  ASSERT_EQ(j.size(), 6u);
  for (const auto& value : j) {
    EXPECT_TRUE(value.is_number_float()) << value.dump();
  }
  EXPECT_EQ(j, json({1.5, 0.5, 1000.0, -0.0025, 1.0, 0.25}));
  EXPECT_EQ(convert("[1e, e3, 1.5.5, '1.5']"), json({"1e", "e3", "1.5.5", "1.5"}));
}

TEST(yaml_json, bools_and_nulls) {
  EXPECT_EQ(convert("[true, True, TRUE, false, False, FALSE]"),
            json({true, true, true, false, false, false}));
  // YAML 1.1 booleans are plain strings in the core schema.
  EXPECT_EQ(convert("[yes, no, on, off, tRUE]"), json({"yes", "no", "on", "off", "tRUE"}));
  EXPECT_EQ(convert("a: null\nb: ~\nc:\nd: Null\ne: NULL"),
            json({{"a", nullptr}, {"b", nullptr}, {"c", nullptr}, {"d", nullptr}, {"e", nullptr}}));
  EXPECT_EQ(convert(""), json(nullptr));
}

TEST(yaml_json, quoted_and_block_scalars_stay_strings) {
  EXPECT_EQ(convert(R"(
dq_true: "true"
sq_int: '42'
dq_null: "null"
empty: ""
tagged: !!str 12
nonspecific: ! 12
literal: |
  7
)"),
            json({{"dq_true", "true"},
                  {"sq_int", "42"},
                  {"dq_null", "null"},
                  {"empty", ""},
                  {"tagged", "12"},
                  {"nonspecific", "12"},
                  {"literal", "7\n"}}));
}

TEST(yaml_json, nested_maps_and_sequences) {
  EXPECT_EQ(convert(R"(
outer:
  list:
    - 1
    - [a, {b: 2}]
    - {c: [true, null]}
  map: {x: {y: {z: []}}, w: {}}
)"),
            json::parse(R"({"outer": {
              "list": [1, ["a", {"b": 2}], {"c": [true, null]}],
              "map": {"x": {"y": {"z": []}}, "w": {}}}})"));
  // Anchors and aliases expand to copies.
  EXPECT_EQ(convert("base: &b {rate: 0.1}\ncopy: *b"),
            json::parse(R"({"base": {"rate": 0.1}, "copy": {"rate": 0.1}})"));
}

TEST(yaml_json, targeting_condition) {
  EXPECT_EQ(convert(R"(
condition:
  country: {$in: [US, CA]}
  app_version: {$vgte: "1.2.0"}
  $or:
    - {age: {$gte: 18}}
    - {beta: true}
)"),
            json::parse(R"({"condition": {
              "country": {"$in": ["US", "CA"]},
              "app_version": {"$vgte": "1.2.0"},
              "$or": [{"age": {"$gte": 18}}, {"beta": true}]}})"));
}

TEST(yaml_json, keys_are_their_text) {
  EXPECT_EQ(convert("1: a\ntrue: b\n\"x\": c"), json({{"1", "a"}, {"true", "b"}, {"x", "c"}}));
}

TEST(yaml_json, duplicate_keys_are_errors) {
  EXPECT_EQ(error_of("a: 1\nb: 2\na: 3"), "line 3, column 1: duplicate key \"a\"");
  EXPECT_EQ(error_of("outer:\n  x: 1\n  x: 2"), "line 3, column 3: duplicate key \"x\"");
  // Same text, different quoting: still one JSON key.
  EXPECT_NE(error_of("1: a\n\"1\": b").find("duplicate key \"1\""), std::string::npos);
}

TEST(yaml_json, infinity_and_nan_are_errors) {
  for (const char* text : {"a: .inf", "a: -.Inf", "a: +.INF", "a: .nan", "a: .NaN"}) {
    EXPECT_NE(error_of(text).find("line 1, column 4: JSON cannot represent"), std::string::npos)
        << text;
  }
  EXPECT_NE(error_of("a: 1e999").find("number out of range"), std::string::npos);
  EXPECT_EQ(convert("a: '.inf'"), json({{"a", ".inf"}}));
}

TEST(yaml_json, malformed_yaml_names_the_line) {
  const std::string message = error_of("experiments:\n  - name: a\n    unit_type: [user\n");
  EXPECT_NE(message.find("line 4"), std::string::npos) << message;
  EXPECT_NE(error_of("a: b: c").find("line 1, column 5"), std::string::npos);
}

TEST(yaml_json, unrepresentable_structures_are_errors) {
  EXPECT_NE(error_of("? [1, 2]\n: x").find("mapping keys must be scalars"), std::string::npos);
  EXPECT_NE(error_of("~: x").find("mapping keys must be scalars"), std::string::npos);
  EXPECT_NE(error_of("a: !custom 1").find("unsupported tag \"!custom\""), std::string::npos);
  EXPECT_NE(error_of("a: 1\n---\nb: 2").find("line 3, column 1: expected one YAML document"),
            std::string::npos);
  EXPECT_NE(error_of("&a [*a]").find("nesting deeper than"), std::string::npos);
}

TEST(yaml_json, converts_a_node_built_in_code) {
  YAML::Node node;
  node["n"] = 3;
  node["s"] = "x";
  EXPECT_EQ(yaml_to_json(node), json({{"n", 3}, {"s", "x"}}));
}

TEST(yaml_json, file_errors_name_the_path) {
  const std::string path = ::testing::TempDir() + "yaml_json_test.yaml";
  std::ofstream(path) << "experiments:\n  - name: a\n    name: b\n";
  try {
    yaml_file_to_json(path);
    ADD_FAILURE() << "no error";
  } catch (const yaml_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": line 3, column 5: duplicate key \"name\"");
  }
  std::ofstream(path) << "experiments: []\n";
  EXPECT_EQ(yaml_file_to_json(path), json({{"experiments", json::array()}}));
  std::remove(path.c_str());

  EXPECT_THROW(yaml_file_to_json(path), yaml_error);
  EXPECT_THROW(yaml_file_to_json(::testing::TempDir()), yaml_error);
}
