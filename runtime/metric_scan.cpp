#include "runtime/metric_scan.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <tuple>

#include "runtime/pg_binary_copy.hpp"

namespace expd::runtime {

namespace {

// Leaf partitions of exp.events with their bounds (NULL for the default partition),
// the default first: its rows may be of any day, so they wait in the rollup's open
// days until the daily partitions close them.
constexpr const char* partitions_sql = R"(
SELECT c.oid::regclass::text,
       (extract(epoch FROM (regexp_match(b.bound, 'FROM \(''([^'']+)''\)'))[1]::timestamptz) * 1000000)::bigint,
       (extract(epoch FROM (regexp_match(b.bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz) * 1000000)::bigint
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
WHERE i.inhparent = 'exp.events'::regclass
ORDER BY 2 NULLS FIRST)";

struct partition {
  std::string name;
  std::optional<core::unix_micros> from, to;
};

core::uuid uuid_of(std::string_view bytes) {
  auto be64 = [](const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v = v << 8 | static_cast<unsigned char>(p[i]);
    return v;
  };
  return {be64(bytes.data()), be64(bytes.data() + 8)};
}

// '{id,id,...}', a uuid[] literal for a query text (COPY takes no bind parameters).
std::string uuid_array_literal(const std::vector<core::uuid>& ids) {
  std::string out = "{";
  for (auto& id : ids) {
    if (out.size() > 1)
      out += ',';
    id.append_to(out);
  }
  return out + '}';
}

} // namespace

metric_scan::metric_scan(std::string pg_url, const core::metric_catalog& catalog,
                         const std::vector<scan_variant>& variants, bool include_unheld)
  : pg_url_(std::move(pg_url)), catalog_(catalog), unheld_(variants.size(), 0),
    include_unheld_(include_unheld) {
  for (std::uint32_t i = 0; i < variants.size(); ++i) {
    auto at = std::find(experiments_.begin(), experiments_.end(), variants[i].experiment_id);
    auto e = static_cast<std::uint32_t>(at - experiments_.begin());
    if (at == experiments_.end())
      experiments_.push_back(variants[i].experiment_id);
    variants_.push_back({variants[i].variant_id, variants[i].experiment_id, i, e});
  }
  experiment_array_ = uuid_array_literal(experiments_);
  std::sort(variants_.begin(), variants_.end(), [](auto& a, auto& b) {
    return std::tie(a.variant.hi, a.variant.lo) < std::tie(b.variant.hi, b.variant.lo);
  });
}

const metric_scan::variant_ref* metric_scan::find(const core::uuid& variant) const noexcept {
  auto it = std::lower_bound(variants_.begin(), variants_.end(), variant, [](auto& a, auto& v) {
    return std::tie(a.variant.hi, a.variant.lo) < std::tie(v.hi, v.lo);
  });
  return it != variants_.end() && it->variant == variant ? &*it : nullptr;
}

pg_binary_copy& metric_scan::connection() {
  if (!copy_)
    copy_ = std::make_unique<pg_binary_copy>(pg_url_);
  return *copy_;
}

void metric_scan::each_partition(std::optional<core::unix_micros> from,
                                 std::optional<core::unix_micros> to, const std::string& select,
                                 std::string where,
                                 const std::function<void(const binary_row&)>& on_row,
                                 core::metric_rollup& rollup) {
  auto& copy = connection();
  std::vector<partition> partitions;
  copy.rows(partitions_sql, [&](const binary_row& r) {
    partition p{std::string{r[0]}, {}, {}};
    if (r[1].data())
      p.from = binary_field::int64(r[1]);
    if (r[2].data())
      p.to = binary_field::int64(r[2]);
    partitions.push_back(std::move(p));
  });
  if (from)
    where += " AND occurred_at >= '" + core::format_rfc3339(*from) + "'";
  if (to)
    where += " AND occurred_at < '" + core::format_rfc3339(*to) + "'";
  for (auto& p : partitions) {
    if ((from && p.to && *p.to <= *from) || (to && p.from && *p.from >= *to))
      continue;
    copy.rows("SELECT " + select + " FROM " + p.name + " WHERE " + where, on_row);
    if (p.to)
      rollup.close_days_before(*p.to);
  }
}

scan_counts metric_scan::read(std::optional<core::unix_micros> from, std::optional<core::unix_micros> to,
                              core::metric_rollup& rollup) {
  scan_counts counts;
  if (variants_.empty())
    return counts;
  std::vector<std::string_view> experiments, variants;
  std::vector<std::uint32_t> refs;
  std::vector<std::pair<std::uint32_t, double>> values;
  auto on_row = [&](const binary_row& r) {
    ++counts.events;
    if (r.size() != 6)
      throw std::runtime_error("metric scan: a row of " + std::to_string(r.size()) + " fields");
    binary_field::uuid_array(r[3], experiments);
    binary_field::uuid_array(r[4], variants);
    refs.clear();
    std::optional<std::uint32_t> unit;
    for (std::size_t i = 0; i < experiments.size() && i < variants.size(); ++i) {
      auto v = find(uuid_of(variants[i]));
      if (!v || v->experiment != uuid_of(experiments[i]))
        continue;
      if (!unit)
        unit = units_.intern(r[0]);
      if (auto held = held_.held(v->experiment_index, *unit); held && *held != v->index) {
        ++unheld_[v->index];
        ++counts.unheld;
        if (!include_unheld_)
          continue;
      }
      refs.push_back(v->index);
    }
    if (refs.empty())
      return;
    catalog_.values(r[2], binary_field::jsonb_text(r[5]), values);
    if (values.empty())
      return;
    auto t = binary_field::timestamp_micros(r[1]);
    for (auto variant : refs)
      for (auto& [metric, value] : values)
        rollup.add({variant, metric, *unit, t, value});
    counts.observations += refs.size() * values.size();
  };
  each_partition(from, to, "unit_id, occurred_at, event_type, experiment_ids, variant_ids, metrics",
                 "experiment_ids && '" + experiment_array_ + "'::uuid[]", on_row, rollup);
  counts.units = units_.size();
  return counts;
}

scan_counts metric_scan::read_covariates(std::uint32_t series, const std::string& unit_type,
                                         core::unix_micros from, core::unix_micros to,
                                         core::metric_rollup& rollup) {
  scan_counts counts;
  std::vector<std::pair<std::uint32_t, double>> values;
  auto on_row = [&](const binary_row& r) {
    ++counts.events;
    if (r.size() != 4)
      throw std::runtime_error("covariate scan: a row of " + std::to_string(r.size()) + " fields");
    catalog_.values(r[2], binary_field::jsonb_text(r[3]), values);
    if (values.empty())
      return;
    auto unit = units_.intern(r[0]);
    auto t = binary_field::timestamp_micros(r[1]);
    for (auto& [metric, value] : values)
      rollup.add_covariate({series, metric, unit, t, value});
    counts.observations += values.size();
  };
  std::string quoted;
  for (char c : unit_type)
    quoted += c == '\'' ? std::string{"''"} : std::string{c};
  each_partition(from, to, "unit_id, occurred_at, event_type, metrics",
                 "unit_type = '" + quoted + "'", on_row, rollup);
  counts.units = units_.size();
  return counts;
}

std::uint64_t metric_scan::load_assignments() {
  std::uint64_t n = 0;
  if (!experiments_.empty())
    connection().rows(
      "SELECT unit_id, variant_id FROM exp.assignments WHERE experiment_id = ANY('"
        + experiment_array_ + "'::uuid[])",
      [&](const binary_row& r) {
        if (r.size() != 2 || r[1].size() != 16)
          throw std::runtime_error("assignment scan: a malformed row");
        if (auto v = find(uuid_of(r[1]))) {
          held_.add(v->experiment_index, units_.intern(r[0]), v->index);
          ++n;
        }
      });
  held_.seal();
  return n;
}

std::uint64_t metric_scan::read_exposures(const std::vector<core::uuid>& experiments,
                                          core::metric_rollup& rollup) {
  std::uint64_t n = 0;
  for (auto& experiment : experiments) {
    auto at = std::find(experiments_.begin(), experiments_.end(), experiment);
    if (at == experiments_.end())
      continue;
    held_.each_in(static_cast<std::uint32_t>(at - experiments_.begin()),
                  [&](std::uint32_t unit, std::uint32_t variant) {
                    rollup.add_exposure(variant, unit);
                    ++n;
                  });
  }
  return n;
}

} // namespace expd::runtime
