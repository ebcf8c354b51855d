#include "core/metric_rollup.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

#include <boost/sort/spreadsort/integer_sort.hpp>

namespace expd::core {

namespace {

constexpr unix_micros micros_per_hour = 3600LL * 1000000;
constexpr std::uint64_t max_index = 1u << 14;
constexpr std::uint64_t max_unit = 1u << 31;

// An entry's key: variant << 50 | metric << 36 | unit << 5 | hour. Without the hour
// (>> 5) it names a unit's values of one metric in one variant; without the unit
// (>> 36) the (variant, metric).
constexpr std::uint64_t pack(std::uint64_t variant, std::uint64_t metric, std::uint64_t unit,
                             std::uint64_t hour) {
  return variant << 50 | metric << 36 | unit << 5 | hour;
}
constexpr std::uint32_t variant_of(std::uint64_t unit_key) {
  return static_cast<std::uint32_t>(unit_key >> 45);
}
constexpr std::uint32_t metric_of(std::uint64_t unit_key) {
  return static_cast<std::uint32_t>((unit_key >> 31) & (max_index - 1));
}

// Moments of per-unit values as they are added.
struct accumulator {
  std::uint64_t units = 0, events = 0;
  double sum = 0, sum_sq = 0, min = 0, max = 0;

  void add(double v, std::uint64_t n) {
    min = units == 0 ? v : std::min(min, v);
    max = units == 0 ? v : std::max(max, v);
    ++units;
    events += n;
    sum += v;
    sum_sq += v * v;
  }

  rollup_row row(std::uint64_t unit_key, aggregate_granularity g, unix_micros bucket) const {
    rollup_row r;
    r.variant = variant_of(unit_key);
    r.metric = metric_of(unit_key);
    r.granularity = g;
    r.bucket_start = bucket;
    r.units_with_events = units;
    r.events = events;
    r.sum = sum;
    r.sum_sq = sum_sq;
    r.min = min;
    r.max = max;
    return r;
  }
};

} // namespace

metric_rollup::metric_rollup(rollup_plan plan) : plan_(std::move(plan)) {
  if (plan_.counted_from.size() > max_index || plan_.rules.size() > max_index)
    throw std::invalid_argument("a pass aggregates at most 16384 variants and metrics");
  for (auto& t : plan_.counted_from)
    if (t != std::numeric_limits<unix_micros>::min())
      t = hour_start(t);
}

void metric_rollup::add(const metric_observation& o) {
  if (o.variant >= plan_.counted_from.size() || o.metric >= plan_.rules.size() || o.unit >= max_unit)
    throw std::out_of_range("observation of a variant, metric or unit outside the plan");
  auto day = day_start(o.occurred_at);
  if (!last_day_ || day != last_day_start_) {
    last_day_ = &open_days_[day];
    last_day_start_ = day;
  }
  last_day_->push_back(
    {pack(o.variant, o.metric, o.unit, static_cast<std::uint64_t>((o.occurred_at - day) / micros_per_hour)),
     o.value});
}

void metric_rollup::close_days_before(unix_micros t) {
  while (!open_days_.empty() && open_days_.begin()->first < t) {
    auto node = open_days_.extract(open_days_.begin());
    close_day(node.key(), node.mapped());
  }
  last_day_ = nullptr;
}

// Sorted by key, a day's observations are runs: each unit's run yields its day value
// and, split by hour, its hour values, and each (variant, metric) run their moments;
// no hash table at all.
void metric_rollup::close_day(unix_micros day, std::vector<entry>& entries) {
  boost::sort::spreadsort::integer_sort(
    entries.begin(), entries.end(), [](const entry& e, unsigned shift) { return e.key >> shift; },
    [](const entry& a, const entry& b) { return a.key < b.key; });
  bool in_window = day >= plan_.window.from && day < plan_.window.to;
  std::vector<unit_totals> counted;
  std::array<accumulator, 24> hours{};
  accumulator whole_day;
  std::size_t i = 0;
  while (i < entries.size()) {
    auto unit_key = entries[i].key >> 5;
    auto rule = plan_.rules[metric_of(unit_key)];
    auto counted_from = plan_.counted_from[variant_of(unit_key)];
    totals unit_day, unit_counted;
    while (i < entries.size() && entries[i].key >> 5 == unit_key) {
      auto hour = entries[i].key & 31;
      totals unit_hour;
      for (; i < entries.size() && (entries[i].key >> 5) == unit_key && (entries[i].key & 31) == hour; ++i) {
        auto v = entries[i].value;
        ++unit_hour.n;
        unit_hour.s += v;
        unit_hour.nz += v != 0;
      }
      if (in_window)
        hours[hour].add(*unit_value(rule, unit_hour.n, unit_hour.s, unit_hour.nz), unit_hour.n);
      unit_day.n += unit_hour.n;
      unit_day.s += unit_hour.s;
      unit_day.nz += unit_hour.nz;
      if (day + static_cast<unix_micros>(hour) * micros_per_hour >= counted_from) {
        unit_counted.n += unit_hour.n;
        unit_counted.s += unit_hour.s;
        unit_counted.nz += unit_hour.nz;
      }
    }
    if (in_window)
      whole_day.add(*unit_value(rule, unit_day.n, unit_day.s, unit_day.nz), unit_day.n);
    if (unit_counted.n > 0)
      counted.push_back({unit_key, unit_counted});
    if (i == entries.size() || (entries[i].key >> 36) != (unit_key >> 31)) {
      for (std::size_t h = 0; h < hours.size(); ++h)
        if (hours[h].units > 0)
          rows_.push_back(hours[h].row(unit_key, aggregate_granularity::hour,
                                       day + static_cast<unix_micros>(h) * micros_per_hour));
      if (whole_day.units > 0)
        rows_.push_back(whole_day.row(unit_key, aggregate_granularity::day, day));
      hours = {};
      whole_day = {};
    }
  }
  entries = {};
  // Both sorted by key: one merge.
  std::vector<unit_totals> merged;
  merged.reserve(cumulative_.size() + counted.size());
  auto a = cumulative_.begin(), b = counted.begin();
  while (a != cumulative_.end() || b != counted.end()) {
    if (b == counted.end() || (a != cumulative_.end() && a->key < b->key)) {
      merged.push_back(*a++);
    } else if (a == cumulative_.end() || b->key < a->key) {
      merged.push_back(*b++);
    } else {
      merged.push_back({a->key, {a->t.n + b->t.n, a->t.s + b->t.s, a->t.nz + b->t.nz}});
      ++a;
      ++b;
    }
  }
  cumulative_ = std::move(merged);
}

std::vector<rollup_row> metric_rollup::finish() {
  close_days_before(std::numeric_limits<unix_micros>::max());
  accumulator acc;
  for (std::size_t i = 0; i < cumulative_.size(); ++i) {
    auto& u = cumulative_[i];
    acc.add(*unit_value(plan_.rules[metric_of(u.key)], u.t.n, u.t.s, u.t.nz), u.t.n);
    if (i + 1 == cumulative_.size() || (cumulative_[i + 1].key >> 31) != (u.key >> 31)) {
      rows_.push_back(acc.row(u.key, aggregate_granularity::experiment, 0));
      acc = {};
    }
  }
  cumulative_.clear();
  return std::move(rows_);
}

} // namespace expd::core
