// The results document's wiring: which statistic lands where, which variant is the
// control, statuses, SRM, multiple testing. The statistics themselves are checked
// against SciPy in statistics_test.cpp.
#include <gtest/gtest.h>

#include "core/cuped.hpp"
#include "core/experiment_results.hpp"
#include "core/field_error.hpp"
#include "tests/core/test_uuid.hpp"
#include "core/multiple_testing.hpp"
#include "core/power.hpp"
#include "core/proportions.hpp"
#include "core/statistics.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

using expd::test::id_of;

metric_moments metric(const char* name, per_unit_rule rule, std::uint64_t n, double sum,
                      double sum_sq) {
  metric_moments m;
  m.event_type = "checkout";
  m.metric_name = name;
  m.rule = rule;
  m.units = n;
  m.units_with_events = n;
  m.events = n;
  m.sum = sum;
  m.sum_sq = sum_sq;
  return m;
}

variant_aggregates variant(int id, const char* name, double allocation, std::uint64_t exposures,
                           std::vector<metric_moments> metrics) {
  variant_aggregates v;
  v.variant_id = id_of(id);
  v.variant_name = name;
  v.allocation = allocation;
  v.exposures = exposures;
  v.metrics = std::move(metrics);
  return v;
}

// Two arms, 1000 units each: revenue (sum) and converted (any).
experiment_aggregates two_arms(const char* first = "treatment", const char* second = "control") {
  experiment_aggregates a;
  a.experiment_id = id_of(99);
  a.experiment_name = "checkout_button";
  a.computed_at = 1700000000000000;
  a.variants.push_back(variant(1, first, 0.5, 1000,
                               {metric("converted", per_unit_rule::any, 1000, 130, 130),
                                metric("revenue", per_unit_rule::sum, 1000, 5200, 61000)}));
  a.variants.push_back(variant(2, second, 0.5, 1000,
                               {metric("converted", per_unit_rule::any, 1000, 100, 100),
                                metric("revenue", per_unit_rule::sum, 1000, 5000, 60000)}));
  return a;
}

const json& metric_of(const json& doc, std::size_t variant, const std::string& name) {
  for (auto& m : doc["variants"][variant]["metrics"])
    if (m["metric_name"] == name)
      return m;
  throw std::runtime_error("no metric " + name);
}

// x = pre-period revenue, correlated with y, for every variant.
void with_revenue_covariate(experiment_aggregates& a) {
  for (auto& v : a.variants)
    for (auto& m : v.metrics)
      if (m.metric_name == "revenue") {
        m.units_x = m.units;
        m.sum_x = m.sum * 0.9;
        m.sum_x_sq = m.sum_sq * 0.8;
        m.sum_xy = m.sum_sq * 0.8;
      }
}

moments moments_of(const metric_moments& m) {
  return {static_cast<double>(m.units), m.sum, m.sum_sq};
}

} // namespace

TEST(experiment_results, control_is_the_variant_named_control) {
  auto doc = experiment_results(two_arms());
  EXPECT_EQ(doc["control"]["variant_name"], "control");
  EXPECT_FALSE(doc["variants"][0]["is_control"].get<bool>());
  EXPECT_TRUE(doc["variants"][1]["is_control"].get<bool>());
  EXPECT_TRUE(metric_of(doc, 0, "revenue").contains("vs_control"));
  EXPECT_FALSE(metric_of(doc, 1, "revenue").contains("vs_control"));
  EXPECT_EQ(doc["status"], "ok");
  EXPECT_EQ(doc["experiment"]["name"], "checkout_button");
  EXPECT_EQ(doc["variants"][0]["exposures"], 1000);
}

TEST(experiment_results, control_defaults_to_the_first_variant) {
  auto doc = experiment_results(two_arms("a", "b"));
  EXPECT_EQ(doc["control"]["variant_name"], "a");
  EXPECT_TRUE(doc["variants"][0]["is_control"].get<bool>());
}

TEST(experiment_results, control_by_name_or_id_and_unknown_is_a_field_error) {
  results_options o;
  o.control = "treatment";
  EXPECT_EQ(experiment_results(two_arms(), o)["control"]["variant_name"], "treatment");
  o.control = id_of(2).str();
  EXPECT_EQ(experiment_results(two_arms(), o)["control"]["variant_name"], "control");
  o.control = "nobody";
  try {
    experiment_results(two_arms(), o);
    FAIL() << "no error";
  } catch (const field_error& e) {
    EXPECT_EQ(e.field(), "control");
  }
}

TEST(experiment_results, numbers_are_the_statistics_functions_own) {
  auto a = two_arms();
  auto doc = experiment_results(a);
  auto t = moments_of(a.variants[0].metrics[1]);
  auto c = moments_of(a.variants[1].metrics[1]);
  auto welch = welch_test(t, c, 0.95);
  auto& revenue = metric_of(doc, 0, "revenue");
  auto& cmp = revenue["vs_control"];
  EXPECT_EQ(cmp["test"], "welch t-test");
  EXPECT_DOUBLE_EQ(cmp["p_value"].get<double>(), *welch.p_value);
  EXPECT_DOUBLE_EQ(cmp["absolute_lift"].get<double>(), *welch.difference);
  EXPECT_DOUBLE_EQ(cmp["absolute_ci"]["lower"].get<double>(), welch.difference_ci->lower);
  EXPECT_DOUBLE_EQ(cmp["relative_lift"].get<double>(), *welch.relative_lift);
  EXPECT_DOUBLE_EQ(cmp["chance_to_beat"].get<double>(), *chance_to_beat(t, c).value);
  EXPECT_DOUBLE_EQ(revenue["mean"].get<double>(), 5.2);
  EXPECT_DOUBLE_EQ(revenue["mean_ci"]["upper"].get<double>(), summarize(t).mean_ci->upper);
  // Default tau^2: (0.1 * control mean)^2.
  EXPECT_DOUBLE_EQ(cmp["msprt_tau_sq"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(cmp["always_valid_p_value"].get<double>(), *msprt_p_value(t, c, 0.25).value);
  EXPECT_FALSE(cmp.contains("peeking_warning"));
}

TEST(experiment_results, conversion_metrics_use_the_proportion_test) {
  auto a = two_arms();
  auto doc = experiment_results(a);
  auto t = moments_of(a.variants[0].metrics[0]);
  auto c = moments_of(a.variants[1].metrics[0]);
  auto& cmp = metric_of(doc, 0, "converted")["vs_control"];
  EXPECT_EQ(cmp["test"], "two-proportion z-test");
  EXPECT_DOUBLE_EQ(cmp["p_value"].get<double>(), *two_proportion_test(t, c).p_value);
  EXPECT_DOUBLE_EQ(cmp["chance_to_beat"].get<double>(), *conversion_chance_to_beat(t, c).value);
  EXPECT_DOUBLE_EQ(cmp["absolute_lift"].get<double>(), 0.03);
}

TEST(experiment_results, holm_and_bh_adjust_every_comparison_together) {
  auto a = two_arms();
  a.variants.push_back(variant(3, "bigger", 0.5, 1000,
                               {metric("converted", per_unit_rule::any, 1000, 105, 105),
                                metric("revenue", per_unit_rule::sum, 1000, 5010, 60500)}));
  a.variants[0].allocation = a.variants[1].allocation = a.variants[2].allocation = 1.0 / 3;
  for (auto method : {correction_method::holm, correction_method::benjamini_hochberg}) {
    results_options o;
    o.correction = method;
    auto doc = experiment_results(a, o);
    std::vector<double> raw;
    std::vector<double> adjusted;
    for (std::size_t v : {0u, 2u})
      for (auto name : {"converted", "revenue"}) {
        auto& cmp = metric_of(doc, v, name)["vs_control"];
        raw.push_back(cmp["p_value"].get<double>());
        adjusted.push_back(cmp["adjusted_p_value"].get<double>());
        EXPECT_EQ(cmp["significant"].get<bool>(), cmp["adjusted_p_value"].get<double>() < 0.05);
      }
    auto want = method == correction_method::holm ? holm(raw) : benjamini_hochberg(raw);
    ASSERT_EQ(want.values.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i)
      EXPECT_DOUBLE_EQ(adjusted[i], want.values[i]) << i;
    EXPECT_EQ(doc["multiple_testing"]["comparisons"], 4);
    EXPECT_EQ(doc["correction"], method == correction_method::holm ? "holm" : "bh");
  }
}

TEST(experiment_results, statuses_are_words_not_nulls) {
  auto a = two_arms();
  // One unit in the treatment, a constant control.
  a.variants[0].metrics[1] = metric("revenue", per_unit_rule::sum, 1, 3, 9);
  a.variants[1].metrics[1] = metric("revenue", per_unit_rule::sum, 1000, 0, 0);
  auto doc = experiment_results(a);
  auto& t = metric_of(doc, 0, "revenue");
  EXPECT_EQ(t["status"], "not enough data");
  EXPECT_EQ(t["mean"], 3.0);
  EXPECT_EQ(t["mean_ci"], "not enough data");
  auto& cmp = t["vs_control"];
  EXPECT_EQ(cmp["p_value"], "not enough data");
  EXPECT_EQ(cmp["adjusted_p_value"], "not enough data");
  EXPECT_EQ(cmp["relative_lift"], "not enough data");
  EXPECT_FALSE(cmp.contains("significant"));
  auto text = doc.dump();
  EXPECT_EQ(text.find("null"), std::string::npos) << text;
  EXPECT_EQ(text.find("NaN"), std::string::npos);
}

TEST(experiment_results, control_mean_zero_leaves_relative_lift_undefined) {
  auto a = two_arms();
  a.variants[1].metrics[1] = metric("revenue", per_unit_rule::sum, 1000, 0, 0);
  a.variants[0].metrics[1] = metric("revenue", per_unit_rule::sum, 1000, 10, 20);
  auto doc = experiment_results(a);
  auto& cmp = metric_of(doc, 0, "revenue")["vs_control"];
  EXPECT_TRUE(cmp["absolute_lift"].is_number());
  EXPECT_EQ(cmp["relative_lift"], "control mean is zero");
}

TEST(experiment_results, sample_ratio_mismatch_is_flagged_loudly) {
  auto a = two_arms();
  auto fine = experiment_results(a);
  EXPECT_FALSE(fine["srm"]["mismatch"].get<bool>());
  EXPECT_EQ(fine["srm"]["status"], "ok");
  EXPECT_TRUE(fine["warnings"].empty());
  a.variants[0].exposures = 1200;
  auto doc = experiment_results(a);
  EXPECT_TRUE(doc["srm"]["mismatch"].get<bool>());
  EXPECT_LT(doc["srm"]["p_value"].get<double>(), 0.001);
  ASSERT_EQ(doc["warnings"].size(), 1u);
  EXPECT_EQ(doc["warnings"][0].get<std::string>().rfind("SAMPLE RATIO MISMATCH", 0), 0u);
}

TEST(experiment_results, never_aggregated_is_an_answer) {
  auto a = two_arms();
  a.computed_at.reset();
  for (auto& v : a.variants) {
    v.exposures = 0;
    v.metrics.clear();
  }
  auto doc = experiment_results(a);
  EXPECT_EQ(doc["status"], "not aggregated yet");
  EXPECT_EQ(doc["computed_at"], "not aggregated yet");
  EXPECT_EQ(doc["srm"]["status"], "not enough data");
  EXPECT_FALSE(doc["warnings"].empty());
  EXPECT_TRUE(doc["metrics"].empty());
}

TEST(experiment_results, a_variant_without_rows_has_zeros_for_sum_metrics) {
  auto a = two_arms();
  a.variants[0].metrics.clear();
  auto doc = experiment_results(a);
  auto& revenue = metric_of(doc, 0, "revenue");
  EXPECT_EQ(revenue["n"], 1000);
  EXPECT_EQ(revenue["mean"], 0.0);
  EXPECT_EQ(revenue["status"], "zero variance");
}

TEST(experiment_results, cuped_when_covariates_are_there) {
  auto a = two_arms();
  auto doc = experiment_results(a);
  EXPECT_FALSE(metric_of(doc, 0, "revenue")["vs_control"].contains("cuped"));
  with_revenue_covariate(a);
  doc = experiment_results(a);
  auto& cmp = metric_of(doc, 0, "revenue")["vs_control"];
  ASSERT_TRUE(cmp.contains("cuped")) << cmp.dump();
  EXPECT_EQ(cmp["cuped"]["status"], "ok");
  EXPECT_GT(cmp["cuped"]["variance_reduction"].get<double>(), 0.0);
  EXPECT_TRUE(cmp["cuped"]["p_value"].is_number());
  EXPECT_FALSE(metric_of(doc, 0, "converted")["vs_control"].contains("cuped"));
}

// The adjusted comparison has every number the unadjusted one has: computed by the
// statistics functions on the adjusted moments, and corrected in the metric's family.
TEST(experiment_results, cuped_comparisons_are_whole_and_corrected_in_their_family) {
  auto a = two_arms();
  with_revenue_covariate(a);
  a.lower_is_better.push_back({"checkout", "revenue"}); // as if it were a cost
  auto doc = experiment_results(a);
  std::vector<cuped_arm> arms;
  for (auto& v : a.variants) {
    auto& m = v.metrics[1];
    arms.push_back({moments_of(m), {static_cast<double>(*m.units_x), *m.sum_x, *m.sum_x_sq}, *m.sum_xy});
  }
  auto adj = cuped(arms);
  ASSERT_EQ(adj.status, statistic_status::ok);
  auto w = welch_test(adj.adjusted[0], adj.adjusted[1]);
  auto& cmp = metric_of(doc, 0, "revenue")["vs_control"];
  auto& c = cmp["cuped"];
  EXPECT_DOUBLE_EQ(c["relative_lift"].get<double>(), *w.relative_lift);
  EXPECT_DOUBLE_EQ(c["relative_ci"]["upper"].get<double>(), w.relative_ci->upper);
  EXPECT_DOUBLE_EQ(c["chance_to_beat"].get<double>(), *chance_to_beat(adj.adjusted[1], adj.adjusted[0]).value);
  auto tau = cmp["msprt_tau_sq"].get<double>();
  EXPECT_DOUBLE_EQ(c["always_valid_p_value"].get<double>(), *msprt_p_value(adj.adjusted[0], adj.adjusted[1], tau).value);
  // One family of goals: converted's own p and revenue's CUPED p, adjusted together.
  auto conv_p = metric_of(doc, 0, "converted")["vs_control"]["p_value"].get<double>();
  auto want = holm({conv_p, c["p_value"].get<double>()});
  EXPECT_DOUBLE_EQ(c["adjusted_p_value"].get<double>(), want.values[1]);
  EXPECT_TRUE(c.contains("verdict"));
}

TEST(experiment_results, peeking_warning_when_only_the_fixed_horizon_p_is_there) {
  results_options o;
  o.msprt_tau_sq = 0; // msprt refuses it: only the fixed-horizon p-value remains
  auto doc = experiment_results(two_arms(), o);
  auto& cmp = metric_of(doc, 0, "revenue")["vs_control"];
  EXPECT_TRUE(cmp["p_value"].is_number());
  EXPECT_TRUE(cmp["always_valid_p_value"].is_string());
  EXPECT_TRUE(cmp.contains("peeking_warning"));
  EXPECT_FALSE(doc["warnings"].empty());
}

TEST(experiment_results, reads_its_query) {
  auto o = parse_results_query("confidence=0.9&control=treat+ment&correction=bh&tau_sq=2.5");
  EXPECT_DOUBLE_EQ(o.confidence, 0.9);
  EXPECT_EQ(*o.control, "treat ment");
  EXPECT_EQ(o.correction, correction_method::benjamini_hochberg);
  EXPECT_DOUBLE_EQ(*o.msprt_tau_sq, 2.5);
  auto field_of = [](const char* q) {
    try {
      parse_results_query(q);
    } catch (const field_error& e) {
      return e.field();
    }
    return std::string{"no error"};
  };
  EXPECT_EQ(field_of("confidence=95"), "confidence");
  EXPECT_EQ(field_of("confidence=abc"), "confidence");
  EXPECT_EQ(field_of("correction=bonferroni"), "correction");
  EXPECT_EQ(field_of("control="), "control");
  EXPECT_EQ(field_of("tau_sq=-1"), "tau_sq");
  EXPECT_EQ(field_of("colour=red"), "colour");
  EXPECT_EQ(field_of("confidence=0.9&confidence=0.8"), "confidence");
  EXPECT_EQ(field_of("control=%zz"), "control");
  EXPECT_EQ(field_of("control=%ff%fe"), "control");
  EXPECT_EQ(field_of("control=%00"), "control");
  auto sized = parse_results_query("effect=0.02&power=0.9");
  EXPECT_DOUBLE_EQ(sized.target_effect, 0.02);
  EXPECT_DOUBLE_EQ(sized.power, 0.9);
  EXPECT_DOUBLE_EQ(parse_results_query("").target_effect, 0.05);
  EXPECT_DOUBLE_EQ(parse_results_query("").power, 0.8);
  for (auto q : {"effect=0", "effect=-0.1", "effect=11", "effect=5%"})
    EXPECT_EQ(field_of(q), "effect") << q;
  for (auto q : {"power=0.2", "power=1", "power=high"})
    EXPECT_EQ(field_of(q), "power") << q;
}

TEST(experiment_results, reads_a_series_query_with_a_bounded_window) {
  auto now = *parse_rfc3339("2025-03-01T12:00:00Z");
  auto r = parse_series_query("", now);
  EXPECT_EQ(r.granularity, aggregate_granularity::day);
  EXPECT_EQ(r.window.to, now);
  EXPECT_EQ(r.window.to - r.window.from, 30LL * 86400 * 1000000);
  r = parse_series_query("granularity=hour&from=2025-02-01T00:00:00Z&to=2025-02-02T00:00:00Z", now);
  EXPECT_EQ(r.granularity, aggregate_granularity::hour);
  EXPECT_EQ(r.window.from, *parse_rfc3339("2025-02-01T00:00:00Z"));
  auto field_of = [now](const char* q) {
    try {
      parse_series_query(q, now);
    } catch (const field_error& e) {
      return e.field();
    }
    return std::string{"no error"};
  };
  EXPECT_EQ(field_of("granularity=experiment"), "granularity");
  EXPECT_EQ(field_of("granularity=minute"), "granularity");
  EXPECT_EQ(field_of("from=yesterday"), "from");
  EXPECT_EQ(field_of("from=2025-03-02T00:00:00Z"), "from");
  EXPECT_EQ(field_of("granularity=hour&from=2025-01-01T00:00:00Z"), "from");
  EXPECT_EQ(field_of("granularity=day&from=2023-01-01T00:00:00Z"), "from");
  EXPECT_EQ(field_of("limit=3"), "limit");
}

TEST(experiment_results, series_groups_points_by_variant_and_metric) {
  auto a = two_arms();
  std::vector<aggregate_point> points;
  for (int v = 0; v < 2; ++v)
    for (int day = 0; day < 3; ++day) {
      aggregate_point p;
      p.variant_id = a.variants[v].variant_id;
      p.event_type = "checkout";
      p.metric_name = "revenue";
      p.bucket_start = *parse_rfc3339("2025-02-01T00:00:00Z") + day * 86400LL * 1000000;
      p.moments = metric("revenue", per_unit_rule::sum, 100, 500 + day, 6000);
      p.exposures_cumulative = 100 * (day + 1);
      points.push_back(p);
    }
  series_request r;
  r.window = {points.front().bucket_start, points.back().bucket_start + 86400LL * 1000000};
  auto doc = experiment_series(a, r, points);
  ASSERT_EQ(doc["series"].size(), 2u);
  EXPECT_EQ(doc["series"][0]["variant_name"], "treatment");
  EXPECT_EQ(doc["series"][1]["variant_name"], "control");
  ASSERT_EQ(doc["series"][0]["points"].size(), 3u);
  auto& p = doc["series"][0]["points"][2];
  EXPECT_EQ(p["t"], "2025-02-03T00:00:00.000000Z");
  EXPECT_DOUBLE_EQ(p["mean"].get<double>(), 5.02);
  EXPECT_EQ(p["exposures_cumulative"], 300);
  EXPECT_TRUE(p["mean_ci"].is_object());
  EXPECT_EQ(doc["granularity"], "day");
}

TEST(experiment_results, overview_line) {
  auto a = two_arms();
  a.variants[0].exposures = 1300;
  auto line = experiment_overview(a, "running");
  EXPECT_EQ(line["status"], "running");
  EXPECT_EQ(line["status_reason"], "");
  EXPECT_EQ(experiment_overview(a, "paused", "stopping rule srm: ...")["status_reason"], "stopping rule srm: ...");
  EXPECT_EQ(line["exposures"], 2300);
  EXPECT_TRUE(line["srm"]["mismatch"].get<bool>());
  EXPECT_EQ(line["variants"].size(), 2u);
}

TEST(experiment_results, events_crediting_an_unheld_variant_are_a_data_quality_warning) {
  auto a = two_arms();
  auto clean = experiment_results(a);
  EXPECT_EQ(clean["data_quality"]["unheld_events"], 0);
  EXPECT_TRUE(clean["warnings"].empty());
  a.variants[0].unheld_events = 3;
  a.variants[1].unheld_events = 4;
  auto doc = experiment_results(a);
  EXPECT_EQ(doc["data_quality"]["unheld_events"], 7);
  EXPECT_EQ(doc["variants"][0]["unheld_events"], 3);
  EXPECT_EQ(doc["variants"][1]["unheld_events"], 4);
  ASSERT_EQ(doc["warnings"].size(), 1u);
  EXPECT_EQ(doc["warnings"][0].get<std::string>().rfind("7 events credit a variant", 0), 0u);
  // The statistics are those of the aggregates as they are: the events were left out
  // before, by the pass.
  EXPECT_EQ(metric_of(doc, 0, "revenue"), metric_of(clean, 0, "revenue"));
}

namespace {

// Treatment and control of 400 units each, on one metric of `rule`.
experiment_aggregates one_metric(const char* name, per_unit_rule rule, moments t, moments c) {
  experiment_aggregates a;
  a.experiment_id = id_of(98);
  a.experiment_name = "latency";
  a.computed_at = 1700000000000000;
  auto m = [&](const moments& x) {
    return metric(name, rule, static_cast<std::uint64_t>(x.n), x.sum, x.sum_sq);
  };
  a.variants.push_back(variant(1, "treatment", 0.5, static_cast<std::uint64_t>(t.n), {m(t)}));
  a.variants.push_back(variant(2, "control", 0.5, static_cast<std::uint64_t>(c.n), {m(c)}));
  return a;
}

} // namespace

TEST(experiment_results, lower_is_better_turns_chance_to_beat_and_verdict_around) {
  // The treatment's latency is clearly lower: mean 90 against 100, sd about 20.
  moments t{400, 400 * 90.0, 400 * (90.0 * 90 + 400)};
  moments c{400, 400 * 100.0, 400 * (100.0 * 100 + 400)};
  auto higher = experiment_results(one_metric("latency_ms", per_unit_rule::mean, t, c));
  auto& up = metric_of(higher, 0, "latency_ms");
  EXPECT_EQ(up["better"], "higher");
  EXPECT_EQ(up["vs_control"]["verdict"], "worse");
  EXPECT_DOUBLE_EQ(up["vs_control"]["chance_to_beat"].get<double>(), *chance_to_beat(t, c).value);

  auto a = one_metric("latency_ms", per_unit_rule::mean, t, c);
  a.lower_is_better.push_back({"checkout", "latency_ms"});
  auto lower = experiment_results(a);
  auto& down = metric_of(lower, 0, "latency_ms");
  EXPECT_EQ(down["better"], "lower");
  EXPECT_EQ(lower["metrics"][0]["better"], "lower");
  EXPECT_EQ(down["vs_control"]["verdict"], "better");
  EXPECT_DOUBLE_EQ(down["vs_control"]["chance_to_beat"].get<double>(), *chance_to_beat(c, t).value);
  EXPECT_GT(down["vs_control"]["chance_to_beat"].get<double>(), 0.999);
  // The raw numbers do not change with the direction.
  EXPECT_EQ(down["vs_control"]["relative_lift"], up["vs_control"]["relative_lift"]);
  EXPECT_EQ(down["vs_control"]["p_value"], up["vs_control"]["p_value"]);
}

TEST(experiment_results, a_conversion_that_should_fall_uses_the_swapped_posteriors) {
  moments t{500, 40, 40}, c{500, 60, 60};
  auto a = one_metric("errored", per_unit_rule::any, t, c);
  a.lower_is_better.push_back({"checkout", "errored"});
  auto doc = experiment_results(a);
  auto& cmp = metric_of(doc, 0, "errored")["vs_control"];
  EXPECT_DOUBLE_EQ(cmp["chance_to_beat"].get<double>(), *conversion_chance_to_beat(c, t).value);
  EXPECT_GT(cmp["chance_to_beat"].get<double>(), 0.9);
}

TEST(experiment_results, each_role_is_its_own_family) {
  auto a = two_arms();
  a.variants.push_back(variant(3, "bigger", 0.5, 1000,
                               {metric("converted", per_unit_rule::any, 1000, 105, 105),
                                metric("revenue", per_unit_rule::sum, 1000, 5010, 60500)}));
  for (auto& v : a.variants) {
    v.allocation = 1.0 / 3;
    v.metrics.push_back(metric("refunds", per_unit_rule::sum, 1000, 40, 60));
  }
  a.roles = parse_experiment_metrics(
    json::parse(R"({"goals":["checkout.converted"],"guardrails":[{"metric":"checkout.revenue","margin":0.02}]})"),
    "metrics");
  auto doc = experiment_results(a);
  // Goals first, then guardrails, then what the block does not name.
  ASSERT_EQ(doc["metrics"].size(), 3u);
  EXPECT_EQ(doc["metrics"][0]["role"], "goal");
  EXPECT_EQ(doc["metrics"][1]["role"], "guardrail");
  EXPECT_EQ(doc["metrics"][1]["margin"], 0.02);
  EXPECT_EQ(doc["metrics"][2]["metric_name"], "refunds");
  EXPECT_EQ(doc["metrics"][2]["role"], "exploratory");
  EXPECT_EQ(doc["variants"][0]["metrics"][0]["metric_name"], "converted");
  for (auto name : {"converted", "revenue", "refunds"}) {
    std::vector<double> raw, adjusted;
    for (std::size_t v : {0u, 2u}) {
      auto& cmp = metric_of(doc, v, name)["vs_control"];
      raw.push_back(cmp["p_value"].get<double>());
      adjusted.push_back(cmp["adjusted_p_value"].get<double>());
    }
    auto want = holm(raw);
    for (std::size_t i = 0; i < 2; ++i)
      EXPECT_DOUBLE_EQ(adjusted[i], want.values[i]) << name << " " << i;
  }
  EXPECT_EQ(doc["multiple_testing"]["comparisons"], 6);
  EXPECT_EQ(doc["multiple_testing"]["families"],
            json::parse(R"({"goal":2,"guardrail":2,"exploratory":2})"));
  EXPECT_TRUE(doc["methods"]["correction"].contains("families"));
}

TEST(experiment_results, a_guardrail_is_judged_against_its_margin) {
  // Control mean 100; the treatment's interval of relative lift sits around `shift`.
  auto reading = [](double treatment_mean, double margin, bool lower) {
    moments t{2000, 2000 * treatment_mean, 2000 * (treatment_mean * treatment_mean + 25)};
    moments c{2000, 2000 * 100.0, 2000 * (100.0 * 100 + 25)};
    auto a = one_metric("cost", per_unit_rule::mean, t, c);
    json block = {{"guardrails", {{{"metric", "checkout.cost"}, {"margin", margin}}}}};
    a.roles = parse_experiment_metrics(block, "metrics");
    if (lower)
      a.lower_is_better.push_back({"checkout", "cost"});
    auto doc = experiment_results(a);
    auto& cmp = metric_of(doc, 0, "cost")["vs_control"];
    auto welch = welch_test(t, c);
    EXPECT_DOUBLE_EQ(cmp["relative_ci"]["lower"].get<double>(), welch.relative_ci->lower);
    EXPECT_EQ(cmp["margin"], margin);
    return cmp["non_inferiority"].get<std::string>();
  };
  // sd 5 over 2000 units: the relative interval is about +-0.3% wide.
  EXPECT_EQ(reading(99.0, 0.02, false), "non-inferior");  // 1% worse, 2% allowed
  EXPECT_EQ(reading(95.0, 0.02, false), "inferior");      // 5% worse
  EXPECT_EQ(reading(98.0, 0.02, false), "inconclusive");  // the interval straddles -2%
  EXPECT_EQ(reading(101.0, 0.02, true), "non-inferior");  // cost 1% up, 2% allowed
  EXPECT_EQ(reading(105.0, 0.02, true), "inferior");
  EXPECT_EQ(reading(95.0, 0.0, true), "non-inferior");    // cost down: better
}

TEST(experiment_results, conversion_arms_get_the_wilson_interval) {
  auto a = two_arms();
  a.variants[0].metrics[0] = metric("converted", per_unit_rule::any, 2, 0, 0);
  auto doc = experiment_results(a);
  auto& m = metric_of(doc, 0, "converted");
  auto want = summarize_conversion({2, 0, 0});
  ASSERT_TRUE(want.mean_ci);
  EXPECT_DOUBLE_EQ(m["mean_ci"]["upper"].get<double>(), want.mean_ci->upper);
  EXPECT_GT(m["mean_ci"]["upper"].get<double>(), 0.5); // not [0, 0] at 0 of 2
  EXPECT_EQ(doc["methods"]["conversion_metrics"]["interval"], "Wilson score interval of the rate");
}

TEST(experiment_results, a_variant_at_allocation_zero_is_left_out_of_the_sample_ratio_check) {
  auto a = two_arms();
  a.variants.push_back(variant(3, "retired", 0.0, 300, {}));
  auto doc = experiment_results(a);
  EXPECT_EQ(doc["srm"]["status"], "ok");
  EXPECT_FALSE(doc["srm"]["mismatch"].get<bool>());
  auto& lines = doc["srm"]["variants"];
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0]["checked"].get<bool>());
  EXPECT_DOUBLE_EQ(lines[0]["expected"].get<double>(), 1000.0);
  EXPECT_FALSE(lines[2]["checked"].get<bool>());
  EXPECT_FALSE(lines[2].contains("expected"));
}

TEST(experiment_results, a_control_of_zeros_still_gets_an_always_valid_p_value) {
  moments t{400, 30, 50}, c{400, 0, 0};
  auto doc = experiment_results(one_metric("refunds", per_unit_rule::sum, t, c));
  auto& cmp = metric_of(doc, 0, "refunds")["vs_control"];
  auto tau = summarize(t).variance.value();
  EXPECT_DOUBLE_EQ(cmp["msprt_tau_sq"].get<double>(), tau);
  ASSERT_TRUE(cmp["always_valid_p_value"].is_number()) << cmp.dump();
  EXPECT_DOUBLE_EQ(cmp["always_valid_p_value"].get<double>(), *msprt_p_value(t, c, tau).value);
}

TEST(experiment_results, the_power_block_sizes_the_experiment_at_its_traffic) {
  auto a = two_arms();
  // Started four days before the aggregation; the treatment takes a third of the traffic.
  a.started_at = *a.computed_at - 4 * 86400LL * 1000000;
  a.variants[0].allocation = 0.25;
  results_options o;
  o.target_effect = 0.1;
  o.power = 0.9;
  auto doc = experiment_results(a, o);
  auto t = moments_of(a.variants[0].metrics[1]), c = moments_of(a.variants[1].metrics[1]);
  auto& p = metric_of(doc, 0, "revenue")["vs_control"]["power"];
  auto size = sample_size_for_mean(c, 0.1, 0.05, 0.9, 0.5);
  ASSERT_EQ(size.status, statistic_status::ok);
  EXPECT_EQ(p["status"], "ok");
  EXPECT_EQ(p["units_needed"]["control"].get<double>(), std::ceil(*size.control_units));
  EXPECT_EQ(p["units_needed"]["treatment"].get<double>(), std::ceil(*size.treatment_units));
  auto mde = minimum_detectable_effect(t, c, 0.05, 0.9);
  EXPECT_DOUBLE_EQ(p["mde_relative"].get<double>(), *mde.relative);
  auto days = days_left({{std::ceil(*size.treatment_units), 1000, 250}, {std::ceil(*size.control_units), 1000, 250}});
  ASSERT_EQ(days.status, statistic_status::ok);
  EXPECT_DOUBLE_EQ(p["days_left"].get<double>(), *days.days);
  EXPECT_GT(p["days_left"].get<double>(), 0);

  auto& conv = metric_of(doc, 0, "converted")["vs_control"]["power"];
  auto csize = sample_size_for_conversion(moments_of(a.variants[1].metrics[0]), 0.1, 0.05, 0.9, 0.5);
  EXPECT_EQ(conv["units_needed"]["control"].get<double>(), std::ceil(*csize.control_units));

  // Never started: the sizes, but no days.
  a.started_at.reset();
  auto unstarted = experiment_results(a, o);
  EXPECT_EQ(metric_of(unstarted, 0, "revenue")["vs_control"]["power"]["days_left"], "not started");
  // A constant control cannot be sized: the status says why.
  a.variants[1].metrics[1] = metric("revenue", per_unit_rule::sum, 1000, 5000, 25000);
  auto flat = experiment_results(a, o);
  EXPECT_EQ(metric_of(flat, 0, "revenue")["vs_control"]["power"]["units_needed"], "zero variance");
}
