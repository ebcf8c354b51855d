#include <gtest/gtest.h>

#include <limits>

#include "core/event_type.hpp"
#include "core/field_error.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

json example() {
  return json::parse(R"({"event_types":[
    {"name":"plan_generated","description":"A plan was shown",
     "metrics":{"latency_ms":{"type":"number","min":0,"unit":"ms"},
                "items":{"type":"integer","min":1,"max":50},
                "accepted":{"type":"boolean","description":"The user kept the plan"}}},
    {"name":"checkout","metrics":{}}]})");
}

std::string fault_of(const json& doc, const event_type_document_limits& limits = {}) {
  try {
    parse_event_type_document(doc, limits);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

// The fault of `example()` after `change`.
template <class Change>
std::string fault_after(Change change) {
  auto doc = example();
  change(doc);
  return fault_of(doc);
}

// The fault of `example()` after `change` to its plan_generated.latency_ms spec.
template <class Change>
std::string fault_of_latency(Change change) {
  return fault_after(
    [&change](json& doc) { change(doc["event_types"][0]["metrics"]["latency_ms"]); });
}

} // namespace

TEST(event_type, reads_the_example_sorted_by_name) {
  auto types = parse_event_type_document(example());
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0].name, "checkout");
  EXPECT_TRUE(types[0].metrics.empty());
  auto& plan = types[1];
  EXPECT_EQ(plan.name, "plan_generated");
  EXPECT_EQ(plan.description, "A plan was shown");
  ASSERT_EQ(plan.metrics.size(), 3u);
  EXPECT_EQ(plan.metrics[0].name, "accepted");
  EXPECT_EQ(plan.metrics[1].name, "items");
  EXPECT_EQ(plan.metrics[2].name, "latency_ms");

  auto* latency = plan.find_metric("latency_ms");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ(latency->kind, metric_kind::number);
  EXPECT_EQ(latency->min, 0.0);
  EXPECT_FALSE(latency->max.has_value());
  EXPECT_EQ(latency->unit, "ms");
  auto* items = plan.find_metric("items");
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->kind, metric_kind::integer);
  EXPECT_EQ(items->max, 50.0);
  EXPECT_EQ(plan.find_metric("accepted")->description, "The user kept the plan");
  EXPECT_EQ(plan.find_metric("latency"), nullptr);
  EXPECT_EQ(plan.find_metric(""), nullptr);
  EXPECT_EQ(plan.find_metric("zzz"), nullptr);
}

TEST(event_type, metrics_to_json_leaves_out_absent_fields_and_reads_back) {
  auto types = parse_event_type_document(example());
  auto metrics = metrics_to_json(types[1]);
  EXPECT_EQ(metrics.dump(),
            R"({"accepted":{"description":"The user kept the plan","type":"boolean"},)"
            R"("items":{"max":50,"min":1,"type":"integer"},)"
            R"("latency_ms":{"min":0,"type":"number","unit":"ms"}})");
  EXPECT_EQ(metrics_to_json(types[0]), json::object());

  json again = {{"event_types", {{{"name", "plan_generated"}, {"metrics", metrics}}}}};
  EXPECT_EQ(metrics_to_json(parse_event_type_document(again)[0]), metrics);

  json fractional = json::parse(R"({"event_types":[{"name":"t",
    "metrics":{"share":{"type":"number","min":-0.5,"max":1e300}}}]})");
  EXPECT_EQ(metrics_to_json(parse_event_type_document(fractional)[0]).dump(),
            R"({"share":{"max":1e+300,"min":-0.5,"type":"number"}})");
}

TEST(event_type, metric_kinds_have_names) {
  EXPECT_EQ(to_string(metric_kind::number), "number");
  EXPECT_EQ(to_string(metric_kind::integer), "integer");
  EXPECT_EQ(to_string(metric_kind::boolean), "boolean");
}

TEST(event_type, names_the_field_of_each_document_fault) {
  EXPECT_EQ(fault_of(example()), "no error");
  EXPECT_EQ(fault_of(json::array()), "event_types");
  EXPECT_EQ(fault_of(json::object()), "event_types");
  EXPECT_EQ(fault_of(json{{"event_types", json::object()}}), "event_types");
  EXPECT_EQ(fault_of(json{{"event_types", json::array()}, {"version", 2}}), "version");
  EXPECT_EQ(fault_of(example(), {1, 64}), "event_types");
  EXPECT_EQ(fault_of(example(), {1000, 2}), "event_types[0].metrics");

  EXPECT_EQ(fault_after([](json& doc) { doc["event_types"][1] = "checkout"; }), "event_types[1]");
  EXPECT_EQ(fault_after([](json& doc) { doc["event_types"][1]["name"] = "plan_generated"; }),
            "event_types[1].name");

  for (json bad : {json(nullptr), json(7), json(""), json("has space"), json("a/b"),
                   json(std::string(129, 'a'))})
    EXPECT_EQ(fault_after([&bad](json& doc) { doc["event_types"][0]["name"] = bad; }),
              "event_types[0].name")
      << bad;
  EXPECT_EQ(fault_after([](json& doc) { doc["event_types"][0]["name"] = std::string(128, 'a'); }),
            "no error");

  const std::string at = "event_types[0]";
  auto plan = [](auto change) {
    return fault_after([&change](json& doc) { change(doc["event_types"][0]); });
  };
  EXPECT_EQ(plan([](json& t) { t.erase("name"); }), at + ".name");
  EXPECT_EQ(plan([](json& t) { t["descripton"] = "typo"; }), at + ".descripton");
  EXPECT_EQ(plan([](json& t) { t["description"] = std::string(4097, 'd'); }),
            at + ".description");
  EXPECT_EQ(plan([](json& t) { t["metrics"] = json::array(); }), at + ".metrics");
  EXPECT_EQ(plan([](json& t) { t["metrics"] = nullptr; }), "no error");
  EXPECT_EQ(plan([](json& t) { t["metrics"]["bad name"] = {{"type", "number"}}; }),
            at + ".metrics.bad name");
  EXPECT_EQ(plan([](json& t) { t["metrics"][""] = {{"type", "number"}}; }), at + ".metrics.");
  EXPECT_EQ(plan([](json& t) { t["metrics"]["latency_ms"] = "number"; }),
            at + ".metrics.latency_ms");
}

TEST(event_type, names_the_field_of_each_metric_fault) {
  const std::string at = "event_types[0].metrics.latency_ms";
  EXPECT_EQ(fault_of_latency([](json& m) { m["minimum"] = 0; }), at + ".minimum");
  EXPECT_EQ(fault_of_latency([](json& m) { m.erase("type"); }), at + ".type");
  EXPECT_EQ(fault_of_latency([](json& m) { m["type"] = "float"; }), at + ".type");
  EXPECT_EQ(fault_of_latency([](json& m) { m["type"] = 1; }), at + ".type");
  EXPECT_EQ(fault_of_latency([](json& m) { m["min"] = "0"; }), at + ".min");
  EXPECT_EQ(fault_of_latency([](json& m) { m["max"] = true; }), at + ".max");
  // A YAML ".inf" converted to JSON arrives as a non-finite double.
  EXPECT_EQ(fault_of_latency([](json& m) { m["min"] = -std::numeric_limits<double>::infinity(); }),
            at + ".min");
  EXPECT_EQ(fault_of_latency([](json& m) { m["max"] = std::numeric_limits<double>::quiet_NaN(); }),
            at + ".max");
  EXPECT_EQ(fault_of_latency([](json& m) { m["max"] = -1; }), at + ".min");
  EXPECT_EQ(fault_of_latency([](json& m) { m["max"] = 0; }), "no error");
  EXPECT_EQ(fault_of_latency([](json& m) { m["min"] = nullptr; }), "no error");
  EXPECT_EQ(fault_of_latency([](json& m) { m["unit"] = 5; }), at + ".unit");
  EXPECT_EQ(fault_of_latency([](json& m) { m["unit"] = std::string(65, 'u'); }), at + ".unit");
  EXPECT_EQ(fault_of_latency([](json& m) { m["description"] = json::object(); }),
            at + ".description");

  EXPECT_EQ(fault_of_latency([](json& m) { m = {{"type", "integer"}, {"min", 0.5}}; }),
            at + ".min");
  EXPECT_EQ(fault_of_latency([](json& m) { m = {{"type", "integer"}, {"max", 2.0}}; }),
            "no error");
  EXPECT_EQ(fault_of_latency([](json& m) { m = {{"type", "boolean"}, {"min", 0}}; }),
            at + ".min");
  EXPECT_EQ(fault_of_latency([](json& m) { m = {{"type", "boolean"}, {"max", 1}}; }),
            at + ".max");
}

TEST(event_type, messages_say_what_to_change) {
  auto doc = example();
  doc["event_types"][0]["metrics"]["latency_ms"]["max"] = -1;
  try {
    parse_event_type_document(doc);
    FAIL() << "min above max was accepted";
  } catch (const field_error& e) {
    EXPECT_STREQ(e.what(), "min 0 is above max -1");
  }
  doc = example();
  doc["event_types"][0]["metrics"]["latency_ms"]["type"] = "float";
  try {
    parse_event_type_document(doc);
    FAIL() << "an unknown type was accepted";
  } catch (const field_error& e) {
    EXPECT_STREQ(e.what(), "unknown type \"float\" (number, integer, boolean)");
  }
}

TEST(event_type, per_unit_rule_defaults_by_kind_and_reads_back) {
  auto types = parse_event_type_document(example());
  auto& plan = types[1];
  EXPECT_EQ(plan.find_metric("accepted")->per_unit, per_unit_rule::any);
  EXPECT_EQ(plan.find_metric("items")->per_unit, per_unit_rule::sum);
  EXPECT_EQ(plan.find_metric("latency_ms")->per_unit, per_unit_rule::sum);

  auto doc = example();
  doc["event_types"][0]["metrics"]["latency_ms"]["per_unit"] = "mean";
  doc["event_types"][0]["metrics"]["accepted"]["per_unit"] = "sum";
  doc["event_types"][0]["metrics"]["items"]["per_unit"] = "sum"; // the default, said aloud
  auto declared = parse_event_type_document(doc)[1];
  EXPECT_EQ(declared.find_metric("latency_ms")->per_unit, per_unit_rule::mean);
  EXPECT_EQ(declared.find_metric("accepted")->per_unit, per_unit_rule::sum);
  // Stored only where it is not the kind's default, so documents without it keep their
  // stored form, and it reads back the same.
  auto stored = metrics_to_json(declared);
  EXPECT_EQ(stored["latency_ms"]["per_unit"], "mean");
  EXPECT_EQ(stored["accepted"]["per_unit"], "sum");
  EXPECT_FALSE(stored["items"].contains("per_unit"));
  json again = {{"event_types", {{{"name", "plan_generated"}, {"metrics", stored}}}}};
  auto reread = parse_event_type_document(again)[0];
  EXPECT_EQ(reread.find_metric("latency_ms")->per_unit, per_unit_rule::mean);
  EXPECT_EQ(reread.find_metric("accepted")->per_unit, per_unit_rule::sum);
  EXPECT_EQ(reread.find_metric("items")->per_unit, per_unit_rule::sum);
}

TEST(event_type, per_unit_rules_have_names_and_bad_ones_name_the_field) {
  for (auto rule : {per_unit_rule::sum, per_unit_rule::any, per_unit_rule::mean})
    EXPECT_EQ(parse_per_unit_rule(to_string(rule)), rule);
  EXPECT_EQ(parse_per_unit_rule("median"), std::nullopt);
  EXPECT_EQ(parse_per_unit_rule("SUM"), std::nullopt);
  EXPECT_EQ(default_per_unit_rule(metric_kind::boolean), per_unit_rule::any);
  EXPECT_EQ(default_per_unit_rule(metric_kind::integer), per_unit_rule::sum);
  EXPECT_EQ(default_per_unit_rule(metric_kind::number), per_unit_rule::sum);

  const std::string at = "event_types[0].metrics.latency_ms.per_unit";
  EXPECT_EQ(fault_of_latency([](json& m) { m["per_unit"] = "median"; }), at);
  EXPECT_EQ(fault_of_latency([](json& m) { m["per_unit"] = 1; }), at);
  EXPECT_EQ(fault_of_latency([](json& m) { m["per_unit"] = ""; }), at);
  EXPECT_EQ(fault_of_latency([](json& m) { m["per_unit"] = "mean"; }), "no error");
  EXPECT_EQ(fault_of_latency([](json& m) { m["per_unit"] = nullptr; }), "no error");
}

TEST(event_type, better_is_higher_by_default_reads_lower_and_names_a_bad_value) {
  auto doc = example();
  EXPECT_EQ(parse_event_type_document(doc)[1].find_metric("latency_ms")->better, metric_direction::higher);
  doc["event_types"][0]["metrics"]["latency_ms"]["better"] = "lower";
  doc["event_types"][0]["metrics"]["accepted"]["better"] = "higher";
  auto declared = parse_event_type_document(doc)[1];
  EXPECT_EQ(declared.find_metric("latency_ms")->better, metric_direction::lower);
  EXPECT_EQ(declared.find_metric("accepted")->better, metric_direction::higher);
  // Stored only when lower, and it reads back.
  auto stored = metrics_to_json(declared);
  EXPECT_EQ(stored["latency_ms"]["better"], "lower");
  EXPECT_FALSE(stored["accepted"].contains("better"));
  json again = {{"event_types", {{{"name", "plan_generated"}, {"metrics", stored}}}}};
  EXPECT_EQ(parse_event_type_document(again)[0].find_metric("latency_ms")->better, metric_direction::lower);
  for (auto bad : {json("smaller"), json(1), json(true)}) {
    doc["event_types"][0]["metrics"]["latency_ms"]["better"] = bad;
    try {
      parse_event_type_document(doc);
      ADD_FAILURE() << bad;
    } catch (const field_error& e) {
      EXPECT_EQ(e.field(), "event_types[0].metrics.latency_ms.better") << bad;
    }
  }
}
