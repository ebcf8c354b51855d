#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "core/metric_rollup.hpp"

using namespace expd::core;

namespace {

constexpr unix_micros hour = 3600LL * 1000000;
constexpr unix_micros day = 24 * hour;

unix_micros at(const char* text) {
  return *parse_rfc3339(text);
}

using row_key = std::tuple<std::uint32_t, std::uint32_t, int, unix_micros>;

std::map<row_key, rollup_row> by_key(const std::vector<rollup_row>& rows) {
  std::map<row_key, rollup_row> out;
  for (auto& r : rows) {
    auto [it, added] = out.emplace(row_key{r.variant, r.metric, static_cast<int>(r.granularity), r.bucket_start}, r);
    EXPECT_TRUE(added) << "two rows for one bucket";
  }
  return out;
}

// The rows computed the obvious way, from every observation at once: per (variant,
// metric, bucket, unit) count, sum and non-zero count, then per-unit values and moments.
std::vector<rollup_row> naive(const rollup_plan& plan, const std::vector<metric_observation>& obs) {
  struct totals {
    std::uint64_t n = 0, nz = 0;
    double s = 0;
  };
  std::map<std::tuple<std::uint32_t, std::uint32_t, int, unix_micros, std::uint32_t>, totals> units;
  auto counted_from = [&](std::uint32_t v) {
    auto t = plan.counted_from[v];
    return t == std::numeric_limits<unix_micros>::min() ? t : hour_start(t);
  };
  for (auto& o : obs) {
    auto add = [&](aggregate_granularity g, unix_micros bucket) {
      auto& t = units[{o.variant, o.metric, static_cast<int>(g), bucket, o.unit}];
      ++t.n;
      t.s += o.value;
      t.nz += o.value != 0;
    };
    auto d = day_start(o.occurred_at);
    if (d >= plan.window.from && d < plan.window.to) {
      add(aggregate_granularity::hour, hour_start(o.occurred_at));
      add(aggregate_granularity::day, d);
    }
    if (o.occurred_at >= counted_from(o.variant))
      add(aggregate_granularity::experiment, 0);
  }
  std::map<row_key, rollup_row> rows;
  for (auto& [k, t] : units) {
    auto [v, m, g, bucket, unit] = k;
    auto value = *unit_value(plan.rules[m], t.n, t.s, t.nz);
    auto [it, added] = rows.try_emplace({v, m, g, bucket});
    auto& r = it->second;
    if (added) {
      r.variant = v;
      r.metric = m;
      r.granularity = static_cast<aggregate_granularity>(g);
      r.bucket_start = bucket;
      r.min = r.max = value;
    }
    ++r.units_with_events;
    r.events += t.n;
    r.sum += value;
    r.sum_sq += value * value;
    r.min = std::min(r.min, value);
    r.max = std::max(r.max, value);
  }
  std::vector<rollup_row> out;
  for (auto& [k, r] : rows)
    out.push_back(r);
  return out;
}

void expect_same(const std::vector<rollup_row>& got, const std::vector<rollup_row>& want) {
  auto g = by_key(got), w = by_key(want);
  ASSERT_EQ(g.size(), w.size());
  auto near = [](double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(1.0, std::abs(b)); };
  for (auto& [k, r] : w) {
    auto it = g.find(k);
    ASSERT_NE(it, g.end()) << "missing bucket " << std::get<3>(k);
    auto& x = it->second;
    EXPECT_EQ(x.units_with_events, r.units_with_events);
    EXPECT_EQ(x.events, r.events);
    EXPECT_TRUE(near(x.sum, r.sum)) << x.sum << " vs " << r.sum;
    EXPECT_TRUE(near(x.sum_sq, r.sum_sq)) << x.sum_sq << " vs " << r.sum_sq;
    // A unit's values are summed in another order: min and max may differ in the last bit.
    EXPECT_TRUE(near(x.min, r.min)) << x.min << " vs " << r.min;
    EXPECT_TRUE(near(x.max, r.max)) << x.max << " vs " << r.max;
  }
}

struct generated {
  rollup_plan plan;
  std::vector<metric_observation> obs;
};

// Three variants (one counting from mid-day 2, one from before everything, one from
// -infinity), three metrics (sum, any, mean), units active with a skew, eight days
// of which the window holds days 2-5.
generated generate(unsigned seed, std::size_t count) {
  std::mt19937_64 rng{seed};
  generated g;
  auto start = at("2025-03-01T00:00:00Z");
  g.plan.counted_from = {start + 2 * day + 13 * hour + 17, start - 5 * day,
                         std::numeric_limits<unix_micros>::min()};
  g.plan.rules = {per_unit_rule::sum, per_unit_rule::any, per_unit_rule::mean};
  g.plan.window = {start + 2 * day, start + 6 * day};
  std::uniform_int_distribution<unix_micros> when{start, start + 8 * day - 1};
  std::uniform_real_distribution<double> real{0, 1};
  for (std::size_t i = 0; i < count; ++i) {
    metric_observation o;
    o.variant = static_cast<std::uint32_t>(rng() % 3);
    o.metric = static_cast<std::uint32_t>(rng() % 3);
    o.unit = static_cast<std::uint32_t>(std::pow(real(rng), 2) * 300);
    o.occurred_at = when(rng);
    o.value = o.metric == 1 ? (real(rng) < 0.3 ? 1.0 : 0.0) : std::round(real(rng) * 1000) / 10;
    g.obs.push_back(o);
  }
  return g;
}

} // namespace

TEST(metric_rollup, matches_the_obvious_computation_on_generated_data) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    auto g = generate(seed, 20000);
    metric_rollup rollup{g.plan};
    for (auto& o : g.obs)
      rollup.add(o);
    expect_same(rollup.finish(), naive(g.plan, g.obs));
  }
}

TEST(metric_rollup, closing_days_as_they_are_read_changes_nothing) {
  auto g = generate(7, 20000);
  std::sort(g.obs.begin(), g.obs.end(),
            [](auto& a, auto& b) { return day_start(a.occurred_at) < day_start(b.occurred_at); });
  metric_rollup rollup{g.plan};
  unix_micros current = g.obs.front().occurred_at;
  for (auto& o : g.obs) {
    if (day_start(o.occurred_at) != day_start(current))
      rollup.close_days_before(day_start(o.occurred_at));
    current = o.occurred_at;
    rollup.add(o);
  }
  expect_same(rollup.finish(), naive(g.plan, g.obs));
}

TEST(metric_rollup, counts_a_unit_once_per_bucket_whatever_its_events) {
  rollup_plan plan{{std::numeric_limits<unix_micros>::min()}, {per_unit_rule::mean}, {0, 0}, {}};
  plan.window = {at("2025-03-01T00:00:00Z"), at("2025-03-02T00:00:00Z")};
  metric_rollup rollup{plan};
  // Unit 7: three events in hour 10, one in hour 11; unit 8: one event in hour 10.
  for (auto [unit, when, v] : {std::tuple{7u, "2025-03-01T10:00:00Z", 1.0},
                               {7u, "2025-03-01T10:59:59.999999Z", 2.0},
                               {7u, "2025-03-01T10:30:00Z", 3.0},
                               {7u, "2025-03-01T11:00:00Z", 10.0},
                               {8u, "2025-03-01T10:15:00Z", 4.0}})
    rollup.add({0, 0, unit, at(when), v});
  auto rows = by_key(rollup.finish());
  ASSERT_EQ(rows.size(), 4u); // hours 10 and 11, the day, the experiment
  auto& h10 = rows.at({0, 0, static_cast<int>(aggregate_granularity::hour), at("2025-03-01T10:00:00Z")});
  EXPECT_EQ(h10.units_with_events, 2u);
  EXPECT_EQ(h10.events, 4u);
  EXPECT_DOUBLE_EQ(h10.sum, 2.0 + 4.0); // means 2 and 4
  auto& d = rows.at({0, 0, static_cast<int>(aggregate_granularity::day), at("2025-03-01T00:00:00Z")});
  EXPECT_EQ(d.units_with_events, 2u);
  EXPECT_DOUBLE_EQ(d.sum, 4.0 + 4.0); // unit 7: (1 + 2 + 3 + 10) / 4
  EXPECT_DOUBLE_EQ(d.min, 4.0);
  EXPECT_EQ(rows.at({0, 0, static_cast<int>(aggregate_granularity::experiment), 0}).units_with_events, 2u);
}

TEST(metric_rollup, counts_from_the_hour_its_experiment_started) {
  rollup_plan plan{{at("2025-03-01T10:45:00Z")}, {per_unit_rule::sum}, {0, 0}, {}};
  metric_rollup rollup{plan};
  rollup.add({0, 0, 1, at("2025-03-01T09:59:59.999999Z"), 100}); // before the hour
  rollup.add({0, 0, 1, at("2025-03-01T10:00:00Z"), 1});          // the start's hour counts
  rollup.add({0, 0, 2, at("2025-03-01T09:00:00Z"), 100});        // a unit with nothing counted
  auto rows = rollup.finish(); // an empty window: cumulative rows only
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].granularity, aggregate_granularity::experiment);
  EXPECT_EQ(rows[0].units_with_events, 1u);
  EXPECT_DOUBLE_EQ(rows[0].sum, 1);
}

TEST(metric_rollup, buckets_times_before_1970_by_their_utc_hour) {
  rollup_plan plan{{std::numeric_limits<unix_micros>::min()}, {per_unit_rule::sum}, {0, 0}, {}};
  plan.window = {at("1969-12-31T00:00:00Z"), at("1970-01-02T00:00:00Z")};
  metric_rollup rollup{plan};
  rollup.add({0, 0, 1, at("1969-12-31T23:59:59.999999Z"), 1});
  rollup.add({0, 0, 1, at("1970-01-01T00:00:00Z"), 2});
  auto rows = by_key(rollup.finish());
  EXPECT_EQ(rows.count({0, 0, static_cast<int>(aggregate_granularity::hour), at("1969-12-31T23:00:00Z")}), 1u);
  EXPECT_EQ(rows.count({0, 0, static_cast<int>(aggregate_granularity::day), at("1969-12-31T00:00:00Z")}), 1u);
  EXPECT_EQ(rows.count({0, 0, static_cast<int>(aggregate_granularity::day), at("1970-01-01T00:00:00Z")}), 1u);
}

TEST(metric_rollup, refuses_what_is_outside_its_plan) {
  rollup_plan plan{{0}, {per_unit_rule::sum}, {0, 0}, {}};
  metric_rollup rollup{plan};
  EXPECT_THROW(rollup.add({1, 0, 0, 0, 1}), std::out_of_range);
  EXPECT_THROW(rollup.add({0, 1, 0, 0, 1}), std::out_of_range);
  EXPECT_THROW(rollup.add({0, 0, 1u << 31, 0, 1}), std::out_of_range);
  EXPECT_NO_THROW(rollup.add({0, 0, (1u << 31) - 1, 0, 1}));
  rollup_plan big{std::vector<unix_micros>(16385, 0), {per_unit_rule::sum}, {0, 0}, {}};
  EXPECT_THROW(metric_rollup{big}, std::invalid_argument);
  EXPECT_TRUE(metric_rollup{rollup_plan{}}.finish().empty());
}

TEST(metric_rollup, cuped_sums_pair_each_units_covariate_with_its_value) {
  std::mt19937_64 rng{11};
  auto start = at("2025-03-10T00:00:00Z");
  rollup_plan plan;
  plan.counted_from = {start, start, start};
  plan.rules = {per_unit_rule::sum, per_unit_rule::any, per_unit_rule::mean};
  plan.window = {start - 14 * day, start + 7 * day}; // covers the pre-period too
  plan.covariate_series = {0u, 0u, std::nullopt};     // variants 0 and 1: one experiment
  metric_rollup rollup{plan};
  // unit -> metric -> values, for y per variant and for x.
  std::map<std::uint32_t, std::map<std::uint32_t, std::vector<double>>> y[3], x;
  std::map<std::uint32_t, std::uint32_t> exposed; // unit -> variant
  std::uniform_real_distribution<double> real{0, 1};
  for (std::uint32_t unit = 0; unit < 400; ++unit) {
    auto variant = unit % 3;
    if (unit % 7 != 0) // some units with events were never exposed (an SDK elsewhere)
      exposed[unit] = variant;
    if (unit % 5 != 0) // some exposed units send nothing
      for (int k = 0; k < 1 + static_cast<int>(unit % 4); ++k) {
        std::uint32_t m = static_cast<std::uint32_t>(rng() % 3);
        double v = m == 1 ? (real(rng) < 0.4) : std::round(real(rng) * 500) / 10;
        y[variant][unit][m].push_back(v);
        rollup.add({variant, m, unit, start + static_cast<unix_micros>(real(rng) * 7 * day), v});
      }
    if (unit % 3 != 1) // some units have no pre-period events
      for (int k = 0; k < 1 + static_cast<int>(unit % 3); ++k) {
        std::uint32_t m = static_cast<std::uint32_t>(rng() % 3);
        double v = m == 1 ? (real(rng) < 0.5) : std::round(real(rng) * 300) / 10;
        x[unit][m].push_back(v);
        rollup.add_covariate({0, m, unit, start - 1 - static_cast<unix_micros>(real(rng) * 14 * day), v});
      }
  }
  for (auto [unit, variant] : exposed) {
    rollup.add_exposure(variant, unit);
    rollup.add_exposure(variant, unit); // a repeated exposure counts once
  }
  auto value = [&](per_unit_rule rule, const std::vector<double>& vs) {
    double s = 0;
    std::uint64_t nz = 0;
    for (auto v : vs) {
      s += v;
      nz += v != 0;
    }
    return vs.empty() ? 0.0 : *unit_value(rule, vs.size(), s, nz);
  };
  auto rows = rollup.finish();
  int checked = 0;
  for (auto& r : rows) {
    ASSERT_LT(r.variant, 3u) << "a covariate series made rows of its own";
    if (r.granularity != aggregate_granularity::experiment) {
      EXPECT_FALSE(r.units_x.has_value());
      continue;
    }
    if (r.variant == 2) {
      EXPECT_FALSE(r.units_x.has_value());
      continue;
    }
    auto rule = plan.rules[r.metric];
    std::set<std::uint32_t> units;
    for (auto& [unit, metrics] : y[r.variant])
      if (metrics.count(r.metric))
        units.insert(unit);
    if (rule != per_unit_rule::mean)
      for (auto [unit, variant] : exposed)
        if (variant == r.variant)
          units.insert(unit);
    std::uint64_t n = 0;
    double sx = 0, sxx = 0, sxy = 0;
    for (auto unit : units) {
      auto xs = x.count(unit) && x[unit].count(r.metric) ? x[unit][r.metric] : std::vector<double>{};
      auto ys = y[r.variant].count(unit) && y[r.variant][unit].count(r.metric)
                  ? y[r.variant][unit][r.metric]
                  : std::vector<double>{};
      double xv = value(rule, xs), yv = value(rule, ys);
      ++n;
      sx += xv;
      sxx += xv * xv;
      sxy += xv * yv;
    }
    ASSERT_TRUE(r.units_x.has_value());
    EXPECT_EQ(*r.units_x, n);
    EXPECT_NEAR(r.sum_x, sx, 1e-9 * std::max(1.0, std::abs(sx)));
    EXPECT_NEAR(r.sum_x_sq, sxx, 1e-9 * std::max(1.0, sxx));
    EXPECT_NEAR(r.sum_xy, sxy, 1e-9 * std::max(1.0, std::abs(sxy)));
    ++checked;
  }
  EXPECT_EQ(checked, 6); // 2 variants x 3 metrics
  EXPECT_THROW(rollup.add_covariate({1, 0, 0, 0, 1}), std::out_of_range);
  EXPECT_THROW(rollup.add_exposure(3, 0), std::out_of_range);
  rollup_plan uneven = plan;
  uneven.covariate_series.pop_back();
  EXPECT_THROW(metric_rollup{uneven}, std::invalid_argument);
}
