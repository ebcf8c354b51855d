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
  variants_ = static_cast<std::uint32_t>(std::min<std::size_t>(plan_.counted_from.size(), max_index + 1));
  if (!plan_.covariate_series.empty() && plan_.covariate_series.size() != plan_.counted_from.size())
    throw std::invalid_argument("covariate_series must name every variant or none");
  for (auto& s : plan_.covariate_series)
    if (s)
      series_ = std::max(series_, *s + 1);
  if (std::uint64_t{variants_} + series_ > max_index || plan_.rules.size() > max_index)
    throw std::invalid_argument("a pass aggregates at most 16384 variants, covariate series and metrics");
  for (auto& t : plan_.counted_from)
    if (t != std::numeric_limits<unix_micros>::min())
      t = hour_start(t);
  // A covariate series is an internal variant that counts every value it is given.
  plan_.counted_from.resize(variants_ + series_, std::numeric_limits<unix_micros>::min());
}

void metric_rollup::add(const metric_observation& o) {
  if (o.variant >= variants_)
    throw std::out_of_range("observation of a variant outside the plan");
  push(o.variant, o);
}

void metric_rollup::add_covariate(const metric_observation& o) {
  if (o.variant >= series_)
    throw std::out_of_range("observation of a covariate series outside the plan");
  push(variants_ + o.variant, o);
}

void metric_rollup::add_exposure(std::uint32_t variant, std::uint32_t unit) {
  if (variant >= variants_ || unit >= max_unit)
    throw std::out_of_range("exposure of a variant or unit outside the plan");
  exposures_.push_back(std::uint64_t{variant} << 32 | unit);
}

void metric_rollup::push(std::uint32_t variant, const metric_observation& o) {
  if (o.metric >= plan_.rules.size() || o.unit >= max_unit)
    throw std::out_of_range("observation of a metric or unit outside the plan");
  auto day = day_start(o.occurred_at);
  if (!last_day_ || day != last_day_start_) {
    last_day_ = &open_days_[day];
    last_day_start_ = day;
  }
  last_day_->push_back(
    {pack(variant, o.metric, o.unit, static_cast<std::uint64_t>((o.occurred_at - day) / micros_per_hour)),
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
    bool bucket_rows = in_window && variant_of(unit_key) < variants_; // not for covariate series
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
      if (bucket_rows)
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
    if (bucket_rows)
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

// The CUPED sums of `row` (a real variant's experiment-so-far row, its units
// cumulative_[from, to)) against covariate series `series`: one merge by unit of the
// row's units, the series' units of the same metric and, for sum and any, the
// variant's exposed units.
void metric_rollup::add_covariate_sums(rollup_row& row, std::size_t from, std::size_t to,
                                       std::uint32_t series) {
  auto rule = plan_.rules[row.metric];
  auto prefix = (std::uint64_t{variants_ + series} << 14 | row.metric) << 31;
  auto x = std::lower_bound(cumulative_.begin(), cumulative_.end(), prefix,
                            [](const unit_totals& u, std::uint64_t k) { return u.key < k; });
  auto x_end = std::lower_bound(x, cumulative_.end(), prefix + max_unit,
                                [](const unit_totals& u, std::uint64_t k) { return u.key < k; });
  auto e = std::lower_bound(exposures_.begin(), exposures_.end(), std::uint64_t{row.variant} << 32);
  auto e_end = rule == per_unit_rule::mean
                 ? e
                 : std::lower_bound(e, exposures_.end(), std::uint64_t{row.variant + 1} << 32);
  constexpr std::uint64_t none = std::numeric_limits<std::uint64_t>::max();
  auto unit_of = [](std::uint64_t key) { return key & (max_unit - 1); };
  auto y = cumulative_.begin() + static_cast<std::ptrdiff_t>(from);
  auto y_end = cumulative_.begin() + static_cast<std::ptrdiff_t>(to);
  std::uint64_t n = 0;
  double sx = 0, sxx = 0, sxy = 0;
  for (;;) {
    std::uint64_t next_y = y != y_end ? unit_of(y->key) : none;
    std::uint64_t next_e = e != e_end ? (*e & 0xffffffffULL) : none;
    auto unit = std::min(next_y, next_e);
    if (unit == none)
      break;
    double yv = 0, xv = 0;
    if (next_y == unit) {
      yv = *unit_value(rule, y->t.n, y->t.s, y->t.nz);
      ++y;
    }
    while (e != e_end && (*e & 0xffffffffULL) == unit) // repeated exposures count once
      ++e;
    while (x != x_end && unit_of(x->key) < unit)
      ++x;
    if (x != x_end && unit_of(x->key) == unit)
      xv = *unit_value(rule, x->t.n, x->t.s, x->t.nz);
    ++n;
    sx += xv;
    sxx += xv * xv;
    sxy += xv * yv;
  }
  row.units_x = n;
  row.sum_x = sx;
  row.sum_x_sq = sxx;
  row.sum_xy = sxy;
}

std::vector<rollup_row> metric_rollup::finish() {
  close_days_before(std::numeric_limits<unix_micros>::max());
  std::sort(exposures_.begin(), exposures_.end());
  accumulator acc;
  std::size_t group_start = 0;
  for (std::size_t i = 0; i < cumulative_.size() && variant_of(cumulative_[i].key) < variants_; ++i) {
    auto& u = cumulative_[i];
    acc.add(*unit_value(plan_.rules[metric_of(u.key)], u.t.n, u.t.s, u.t.nz), u.t.n);
    if (i + 1 == cumulative_.size() || (cumulative_[i + 1].key >> 31) != (u.key >> 31)) {
      auto row = acc.row(u.key, aggregate_granularity::experiment, 0);
      if (!plan_.covariate_series.empty() && plan_.covariate_series[row.variant])
        add_covariate_sums(row, group_start, i + 1, *plan_.covariate_series[row.variant]);
      rows_.push_back(row);
      acc = {};
      group_start = i + 1;
    }
  }
  cumulative_.clear();
  exposures_.clear();
  return std::move(rows_);
}

} // namespace expd::core
