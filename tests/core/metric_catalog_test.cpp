#include <gtest/gtest.h>

#include "core/metric_catalog.hpp"

using namespace expd::core;

namespace {

metric_catalog catalog() {
  return metric_catalog{parse_event_type_document(nlohmann::json::parse(R"({"event_types":[
    {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","per_unit":"mean"},
                                        "plan_steps":{"type":"integer"}}},
    {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})"))};
}

using values = std::vector<std::pair<std::uint32_t, double>>;

values of(const metric_catalog& c, std::string_view type, std::string_view json) {
  values out{{99, 99}};
  EXPECT_TRUE(c.values(type, json, out)) << json;
  return out;
}

} // namespace

TEST(metric_catalog, numbers_every_metric_with_its_rule) {
  auto c = catalog();
  ASSERT_EQ(c.metrics().size(), 3u);
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto& m = c.metrics()[i];
    auto want = m.name == "latency_ms" ? per_unit_rule::mean
                : m.name == "plan_steps" ? per_unit_rule::sum
                                         : per_unit_rule::any;
    EXPECT_EQ(m.rule, want) << m.name;
  }
}

TEST(metric_catalog, reads_numbers_and_booleans_of_declared_metrics_only) {
  auto c = catalog();
  auto index = [&](std::string_view name) {
    for (std::uint32_t i = 0; i < c.metrics().size(); ++i)
      if (c.metrics()[i].name == name)
        return i;
    return 999u;
  };
  EXPECT_EQ(of(c, "plan_generated", R"({"latency_ms": 412.5, "plan_steps": 3, "other": 1})"),
            (values{{index("latency_ms"), 412.5}, {index("plan_steps"), 3.0}}));
  EXPECT_EQ(of(c, "plan_accepted", R"({"accepted": true})"), (values{{index("accepted"), 1.0}}));
  EXPECT_EQ(of(c, "plan_accepted", R"({"accepted": false})"), (values{{index("accepted"), 0.0}}));
  // Another type's metric name, strings, nulls and objects are not values.
  EXPECT_EQ(of(c, "plan_accepted", R"({"latency_ms": 1})"), values{});
  EXPECT_EQ(of(c, "plan_generated", R"({"latency_ms": "1", "plan_steps": null})"), values{});
  EXPECT_EQ(of(c, "plan_generated", R"({"latency_ms": {"v": 1}})"), values{});
  EXPECT_EQ(of(c, "unknown_type", R"({"latency_ms": 1})"), values{});
  EXPECT_EQ(of(c, "plan_generated", R"({})"), values{});
  // Past 64 bits (jsonb keeps any numeric): the nearest double, as PostgreSQL casts it.
  EXPECT_EQ(of(c, "plan_generated", R"({"plan_steps": 123456789012345678901234567890})"),
            (values{{index("plan_steps"), 123456789012345678901234567890.0}}));
  EXPECT_EQ(of(c, "plan_generated", R"({"plan_steps": -9223372036854775808})"),
            (values{{index("plan_steps"), -9223372036854775808.0}}));
  EXPECT_EQ(of(c, "plan_generated", R"({"plan_steps": 18446744073709551615})"),
            (values{{index("plan_steps"), 18446744073709551615.0}}));
}

TEST(metric_catalog, a_text_that_is_not_an_object_is_refused) {
  auto c = catalog();
  values out{{1, 1}};
  EXPECT_FALSE(c.values("plan_generated", "[1]", out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(c.values("plan_generated", "{\"latency_ms\": 1", out));
  EXPECT_FALSE(c.values("plan_generated", "", out));
  EXPECT_FALSE(c.values("plan_generated", "null", out));
}
