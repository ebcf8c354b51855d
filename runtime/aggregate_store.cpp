#include "runtime/aggregate_store.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <map>
#include <tuple>

#include <pqxx/pqxx>

#include "core/event_type.hpp"
#include "core/metric_catalog.hpp"
#include "core/metric_rollup.hpp"
#include "runtime/event_store.hpp"
#include "runtime/metric_scan.hpp"

namespace expd::runtime {

namespace {

// Every statement of a pass, in the order they run. The heavy work, per-unit values and
// their moments, is not SQL: metric_scan streams the events (binary COPY, partition by
// partition) into core::metric_rollup, whose few thousand rows are upserted here.
// docs/aggregation.md explains each step.

// Experiments with events received after $2, and when; $1 bounds the scan by
// occurred_at (nothing older is accepted). A NULL experiment: events without one,
// which still move the cursor.
constexpr const char* touched_since_sql = R"(
SELECT c.experiment_id::text,
       (extract(epoch FROM min(e.occurred_at)) * 1000000)::bigint,
       (extract(epoch FROM max(e.occurred_at)) * 1000000)::bigint,
       (extract(epoch FROM max(e.received_at)) * 1000000)::bigint
FROM exp.events e
LEFT JOIN LATERAL unnest(e.experiment_ids) AS c(experiment_id) ON true
WHERE e.occurred_at >= $1::timestamptz AND e.received_at > $2::timestamptz
GROUP BY 1)";

// Experiments with events in [$1, $2).
constexpr const char* touched_in_sql = R"(
SELECT DISTINCT c.experiment_id::text
FROM exp.events e, unnest(e.experiment_ids) AS c(experiment_id)
WHERE e.occurred_at >= $1::timestamptz AND e.occurred_at < $2::timestamptz)";

// The variants of experiments $1 with, per experiment, the hour it started (NULL: not
// started), from which its events count in the cumulative rows, its unit type and its
// CUPED pre-period in days (NULL: none).
constexpr const char* variants_sql = R"(
SELECT v.id::text, v.experiment_id::text,
       (extract(epoch FROM date_trunc('hour', x.start_at)) * 1000000)::bigint,
       x.unit_type, x.cuped_pre_period_days
FROM exp.variants v JOIN exp.experiments x ON x.id = v.experiment_id
WHERE v.experiment_id = ANY($1::uuid[])
ORDER BY v.experiment_id, v.position)";

// The rollup's rows, as parallel arrays, upserted, replacing whole rows (never
// incrementing).
constexpr const char* metric_upsert_sql = R"(
INSERT INTO exp.metric_aggregates AS a
  (experiment_id, variant_id, event_type, metric_name, granularity, bucket_start, per_unit,
   units, units_with_events, events, sum, sum_sq, min, max, mean, units_x, sum_x, sum_x_sq,
   sum_xy, computed_at)
SELECT r.experiment_id, r.variant_id, r.event_type, r.metric_name, r.granularity,
       r.bucket_start, r.per_unit, r.units, r.units, r.events, r.sum, r.sum_sq, r.min, r.max,
       r.sum / r.units, r.units_x, r.sum_x, r.sum_x_sq, r.sum_xy, now()
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
            $7::text[], $8::bigint[], $9::bigint[], $10::float8[], $11::float8[],
            $12::float8[], $13::float8[], $14::bigint[], $15::float8[], $16::float8[],
            $17::float8[])
  AS r(experiment_id, variant_id, event_type, metric_name, granularity, bucket_start,
       per_unit, units, events, sum, sum_sq, min, max, units_x, sum_x, sum_x_sq, sum_xy)
ON CONFLICT (experiment_id, variant_id, event_type, metric_name, granularity, bucket_start)
DO UPDATE SET per_unit = EXCLUDED.per_unit, units = EXCLUDED.units,
  units_with_events = EXCLUDED.units_with_events, events = EXCLUDED.events, sum = EXCLUDED.sum,
  sum_sq = EXCLUDED.sum_sq, min = EXCLUDED.min, max = EXCLUDED.max, mean = EXCLUDED.mean,
  units_x = EXCLUDED.units_x, sum_x = EXCLUDED.sum_x, sum_x_sq = EXCLUDED.sum_x_sq,
  sum_xy = EXCLUDED.sum_xy, computed_at = EXCLUDED.computed_at)";

// Rows of $1 in [$2, $3) (and cumulative rows) that the recompute did not write: their
// metric or events are gone (a rule changed, a partition detached). Whole buckets are
// replaced, so they go.
constexpr const char* stale_metric_rows_sql = R"(
DELETE FROM exp.metric_aggregates
WHERE experiment_id = ANY($1::uuid[]) AND computed_at < now()
  AND (granularity = 'experiment'
       OR (bucket_start >= $2::timestamptz AND bucket_start < $3::timestamptz)))";

constexpr const char* clear_exposures_sql =
  "DELETE FROM exp.exposure_aggregates WHERE experiment_id = ANY($1::uuid[])";

// Units assigned per variant: new per hour and day, cumulative to each bucket's end,
// and in all.
constexpr const char* exposures_sql = R"(
INSERT INTO exp.exposure_aggregates
  (experiment_id, variant_id, granularity, bucket_start, units, units_cumulative, computed_at)
WITH h AS (
  SELECT experiment_id, variant_id, date_trunc('hour', assigned_at) AS b, count(*) AS n
  FROM exp.assignments WHERE experiment_id = ANY($1::uuid[]) GROUP BY 1, 2, 3
),
d AS (
  SELECT experiment_id, variant_id, date_trunc('day', b) AS b, sum(n)::bigint AS n
  FROM h GROUP BY 1, 2, 3
)
SELECT experiment_id, variant_id, 'hour', b, n, sum(n) OVER w, now() FROM h
  WINDOW w AS (PARTITION BY experiment_id, variant_id ORDER BY b)
UNION ALL
SELECT experiment_id, variant_id, 'day', b, n, sum(n) OVER w, now() FROM d
  WINDOW w AS (PARTITION BY experiment_id, variant_id ORDER BY b)
UNION ALL
SELECT experiment_id, variant_id, 'experiment', timestamptz 'epoch', sum(n), sum(n), now()
FROM d GROUP BY 1, 2)";

// n of sum and any metrics: the units exposed by the bucket's end (a unit without
// events is a 0), never fewer than the units with events.
constexpr const char* exposed_units_sql = R"(
UPDATE exp.metric_aggregates a SET units = q.n, mean = a.sum / q.n
FROM (
  SELECT m.experiment_id, m.variant_id, m.event_type, m.metric_name, m.granularity, m.bucket_start,
         greatest(m.units_with_events, coalesce((
           SELECT x.units_cumulative FROM exp.exposure_aggregates x
           WHERE x.experiment_id = m.experiment_id AND x.variant_id = m.variant_id
             AND x.granularity = CASE m.granularity WHEN 'experiment' THEN 'experiment' ELSE 'hour' END
             AND x.bucket_start < CASE m.granularity WHEN 'hour' THEN m.bucket_start + interval '1 hour'
                                                     WHEN 'day' THEN m.bucket_start + interval '1 day'
                                                     ELSE 'infinity'::timestamptz END
           ORDER BY x.bucket_start DESC LIMIT 1), 0)) AS n
  FROM exp.metric_aggregates m
  WHERE m.experiment_id = ANY($1::uuid[]) AND m.per_unit IN ('sum', 'any')
) q
WHERE a.experiment_id = q.experiment_id AND a.variant_id = q.variant_id
  AND a.event_type = q.event_type AND a.metric_name = q.metric_name
  AND a.granularity = q.granularity AND a.bucket_start = q.bucket_start
  AND a.units IS DISTINCT FROM q.n)";

constexpr const char* cursor_name = "metric_aggregates";

std::string time_text(std::optional<core::unix_micros> t, const char* none) {
  return t ? core::format_rfc3339(*t) : std::string{none};
}

std::string uuid_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (auto& id : ids) {
    if (out.size() > 1)
      out += ',';
    out += id;
  }
  return out + '}';
}

// Array literals of the upsert's columns, a chunk of rows at a time.
class upsert_arrays {
public:
  void add(std::string& column, std::string_view item, bool quote) {
    column += column.empty() ? '{' : ',';
    if (quote)
      column += '"';
    column += item;
    if (quote)
      column += '"';
  }
  void add(std::string& column, double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);
    add(column, text, false);
  }
  static std::string closed(const std::string& column) {
    return column.empty() ? "{}" : column + '}';
  }

  std::array<std::string, 17> columns;
};

// Every declared metric, defaults resolved by core.
core::metric_catalog load_catalog(pqxx::work& tx) {
  nlohmann::json doc = {{"event_types", nlohmann::json::array()}};
  for (auto row : tx.exec("SELECT name, metrics::text FROM exp.event_types"))
    doc["event_types"].push_back({{"name", row[0].as<std::string>()},
                                  {"metrics", nlohmann::json::parse(row[1].as<std::string>())}});
  return core::metric_catalog{core::parse_event_type_document(doc)};
}

// The metrics declared `better: lower`, read from their stored specs (core::metrics_to_json
// stores `better` only then) without parsing every event type on each results request.
constexpr const char* lower_is_better_sql = R"(
SELECT t.name, m.key FROM exp.event_types t, jsonb_each(t.metrics) AS m(key, spec)
WHERE m.spec->>'better' = 'lower')";

// Upserts `rows` (of `variants` and `catalog`'s metrics) in statements of at most
// 10,000 rows; returns the rows written.
std::uint64_t upsert_rows(pqxx::work& tx, const std::vector<core::rollup_row>& rows,
                          const std::vector<runtime::scan_variant>& variants,
                          const core::metric_catalog& catalog) {
  constexpr std::size_t chunk = 10000;
  std::uint64_t written = 0;
  for (std::size_t from = 0; from < rows.size(); from += chunk) {
    upsert_arrays a;
    auto& c = a.columns;
    for (std::size_t i = from; i < rows.size() && i < from + chunk; ++i) {
      auto& r = rows[i];
      auto& m = catalog.metrics()[r.metric];
      a.add(c[0], variants[r.variant].experiment_id.str(), false);
      a.add(c[1], variants[r.variant].variant_id.str(), false);
      a.add(c[2], m.event_type, true);
      a.add(c[3], m.name, true);
      a.add(c[4], core::to_string(r.granularity), false);
      a.add(c[5], core::format_rfc3339(r.bucket_start), false);
      a.add(c[6], core::to_string(m.rule), false);
      a.add(c[7], std::to_string(r.units_with_events), false);
      a.add(c[8], std::to_string(r.events), false);
      a.add(c[9], r.sum);
      a.add(c[10], r.sum_sq);
      a.add(c[11], r.min);
      a.add(c[12], r.max);
      if (r.units_x) {
        a.add(c[13], std::to_string(*r.units_x), false);
        a.add(c[14], r.sum_x);
        a.add(c[15], r.sum_x_sq);
        a.add(c[16], r.sum_xy);
      } else {
        for (std::size_t k = 13; k < 17; ++k)
          a.add(c[k], "NULL", false);
      }
    }
    auto closed = [&](std::size_t k) { return upsert_arrays::closed(c[k]); };
    written += tx.exec_params(metric_upsert_sql, closed(0), closed(1), closed(2), closed(3),
                              closed(4), closed(5), closed(6), closed(7), closed(8), closed(9),
                              closed(10), closed(11), closed(12), closed(13), closed(14),
                              closed(15), closed(16))
                 .affected_rows();
  }
  return written;
}

std::vector<std::string> running_experiments(pqxx::work& tx) {
  std::vector<std::string> ids;
  for (auto row : tx.exec("SELECT id::text FROM exp.experiments WHERE status IN ('running', 'paused')"))
    ids.push_back(row[0].as<std::string>());
  return ids;
}

// What a recompute of experiments `ids` reads: their variants with the rollup's plan
// for them, where the scan starts, and one CUPED pre-period (a covariate series) per
// started experiment that sets one.
struct pass_plan {
  struct pre_period {
    core::uuid experiment;
    std::string unit_type;
    core::unix_micros from, to;
  };
  std::vector<scan_variant> variants;
  core::rollup_plan rollup;
  std::optional<core::unix_micros> scan_from; // nullopt: from the first event
  std::vector<pre_period> pre_periods;        // series i is pre_periods[i]
};

pass_plan plan_pass(pqxx::work& tx, const std::string& ids, const core::metric_catalog& catalog,
                    core::aggregate_window window) {
  pass_plan plan;
  plan.rollup.window = window;
  plan.scan_from = window.from;
  for (auto row : tx.exec_params(variants_sql, ids)) {
    plan.variants.push_back({*core::uuid::parse(row[0].c_str()), *core::uuid::parse(row[1].c_str())});
    // Not started: every event counts, however old.
    auto started = row[2].is_null() ? std::numeric_limits<core::unix_micros>::min()
                                    : row[2].as<core::unix_micros>();
    plan.rollup.counted_from.push_back(started);
    if (row[2].is_null())
      plan.scan_from.reset();
    else if (plan.scan_from)
      plan.scan_from = std::min(*plan.scan_from, started);
    std::optional<std::uint32_t> series;
    if (!row[2].is_null() && !row[4].is_null()) {
      auto& experiment = plan.variants.back().experiment_id;
      // Rows come by experiment: its variants share one series.
      if (plan.pre_periods.empty() || plan.pre_periods.back().experiment != experiment)
        plan.pre_periods.push_back({experiment, row[3].as<std::string>(),
                                    started - row[4].as<core::unix_micros>() * 86400 * 1000000, started});
      series = static_cast<std::uint32_t>(plan.pre_periods.size() - 1);
    }
    plan.rollup.covariate_series.push_back(series);
  }
  for (auto& m : catalog.metrics())
    plan.rollup.rules.push_back(m.rule);
  return plan;
}

// A pass reads each experiment it recomputes from its start, so its counts replace
// the stored ones.
void write_data_quality(pqxx::work& tx, const std::vector<scan_variant>& variants,
                        const std::vector<std::uint64_t>& unheld) {
  std::string experiments = "{", ids = "{", counts = "{";
  for (std::size_t i = 0; i < variants.size(); ++i) {
    auto sep = i == 0 ? "" : ",";
    experiments += sep + variants[i].experiment_id.str();
    ids += sep + variants[i].variant_id.str();
    counts += sep + std::to_string(unheld[i]);
  }
  tx.exec_params(
    "INSERT INTO exp.variant_data_quality (experiment_id, variant_id, unheld_events, computed_at)"
    " SELECT e, v, n, now() FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS q(e, v, n)"
    " ON CONFLICT (experiment_id, variant_id) DO UPDATE"
    " SET unheld_events = EXCLUDED.unheld_events, computed_at = EXCLUDED.computed_at",
    experiments + "}", ids + "}", counts + "}");
}

// Recomputes the metric rows of `experiments` (hour and day buckets in `window`, and
// the cumulative ones) and the exposures of `exposed`, in the caller's transaction.
void recompute_in(pqxx::work& tx, const std::string& pg_url, const aggregate_store_config& cfg,
                  const std::vector<std::string>& experiments, core::aggregate_window window,
                  std::vector<std::string> exposed, aggregate_pass_result& result) {
  tx.exec("SET LOCAL TimeZone = 'UTC'");
  // Compiling the exposure queries' plans costs more than running them.
  tx.exec("SET LOCAL jit = off");
  tx.exec("SET LOCAL work_mem = " + tx.quote(cfg.work_mem));
  // One pass at a time across nodes: both would write the same rows.
  tx.exec("SELECT pg_advisory_xact_lock(hashtext('expd.metric_aggregates'))");
  for (auto& id : experiments)
    if (std::find(exposed.begin(), exposed.end(), id) == exposed.end())
      exposed.push_back(id);
  auto from = core::format_rfc3339(window.from), to = core::format_rfc3339(window.to);
  if (!experiments.empty()) {
    auto ids = uuid_array(experiments);
    auto catalog = load_catalog(tx);
    auto plan = plan_pass(tx, ids, catalog, window);
    core::metric_rollup rollup{std::move(plan.rollup)};
    metric_scan scan{pg_url, catalog, plan.variants, cfg.include_unheld};
    scan.load_assignments();
    auto counts = scan.read(plan.scan_from, std::nullopt, rollup);
    result.events_scanned += counts.events;
    result.unheld_events += counts.unheld;
    std::vector<core::uuid> with_cuped;
    for (std::uint32_t s = 0; s < plan.pre_periods.size(); ++s) {
      auto& p = plan.pre_periods[s];
      result.events_scanned += scan.read_covariates(s, p.unit_type, p.from, p.to, rollup).events;
      with_cuped.push_back(p.experiment);
    }
    scan.read_exposures(with_cuped, rollup);
    result.metric_rows += upsert_rows(tx, rollup.finish(), plan.variants, catalog);
    write_data_quality(tx, plan.variants, scan.unheld_events());
    tx.exec_params(stale_metric_rows_sql, ids, from, to);
    result.experiments += experiments.size();
    result.window = window;
  }
  if (!exposed.empty()) {
    auto ids = uuid_array(exposed);
    tx.exec_params(clear_exposures_sql, ids);
    result.exposure_rows += tx.exec_params(exposures_sql, ids).affected_rows();
    tx.exec_params(exposed_units_sql, ids);
  }
}

template <class T>
std::optional<T> nullable(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return f.as<T>();
}

core::metric_moments read_moments(const pqxx::row& row, int at) {
  core::metric_moments m;
  m.event_type = row[at].as<std::string>();
  m.metric_name = row[at + 1].as<std::string>();
  m.rule = core::parse_per_unit_rule(row[at + 2].as<std::string>()).value_or(core::per_unit_rule::sum);
  m.units = row[at + 3].as<std::uint64_t>();
  m.units_with_events = row[at + 4].as<std::uint64_t>();
  m.events = row[at + 5].as<std::uint64_t>();
  m.sum = row[at + 6].as<double>();
  m.sum_sq = row[at + 7].as<double>();
  m.min = nullable<double>(row[at + 8]);
  m.max = nullable<double>(row[at + 9]);
  m.units_x = nullable<std::uint64_t>(row[at + 10]);
  m.sum_x = nullable<double>(row[at + 11]);
  m.sum_x_sq = nullable<double>(row[at + 12]);
  m.sum_xy = nullable<double>(row[at + 13]);
  return m;
}

constexpr const char* moment_columns =
  "a.event_type, a.metric_name, a.per_unit, a.units, a.units_with_events, a.events, a.sum,"
  " a.sum_sq, a.min, a.max, a.units_x, a.sum_x, a.sum_x_sq, a.sum_xy";

} // namespace

aggregate_store::aggregate_store(std::string pg_url, aggregate_store_config cfg)
  : session_(std::move(pg_url)), cfg_(std::move(cfg)) {
}

aggregate_pass_result aggregate_store::run_pass() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    aggregate_pass_result result;
    pqxx::work tx{conn};
    // Released with the transaction, or with the session when its node dies.
    if (!tx.exec("SELECT pg_try_advisory_xact_lock(hashtext('expd.aggregate_pass'))")[0][0]
           .as<bool>()) {
      result.skipped = true;
      return result;
    }
    auto cursor_rows = tx.exec_params(
      "SELECT (extract(epoch FROM received_upto) * 1000000)::bigint FROM exp.aggregate_cursors"
      " WHERE name = $1 FOR UPDATE",
      cursor_name);
    std::optional<core::unix_micros> cursor;
    if (!cursor_rows.empty())
      cursor = cursor_rows[0][0].as<core::unix_micros>();
    std::optional<core::unix_micros> seen_from, received_after;
    if (cursor) {
      received_after = *cursor - cfg_.overlap;
      seen_from = *received_after - cfg_.max_past - 3600LL * 1000000;
    }
    std::vector<std::string> touched;
    std::optional<core::unix_micros> first, last, received_upto = cursor;
    for (auto row : tx.exec_params(touched_since_sql, time_text(seen_from, "-infinity"),
                                   time_text(received_after, "-infinity"))) {
      auto upto = row[3].as<core::unix_micros>();
      received_upto = received_upto ? std::max(*received_upto, upto) : upto;
      if (row[0].is_null())
        continue;
      touched.push_back(row[0].as<std::string>());
      auto lo = row[1].as<core::unix_micros>(), hi = row[2].as<core::unix_micros>();
      first = first ? std::min(*first, lo) : lo;
      last = last ? std::max(*last, hi) : hi;
    }
    core::aggregate_window window{0, 0};
    if (first)
      window = core::whole_days({*first, *last + 1});
    recompute_in(tx, session_.url(), cfg_, touched, window, running_experiments(tx), result);
    if (received_upto && received_upto != cursor)
      tx.exec_params("INSERT INTO exp.aggregate_cursors (name, received_upto) VALUES ($1, $2)"
                     " ON CONFLICT (name) DO UPDATE SET received_upto = EXCLUDED.received_upto,"
                     " updated_at = now()",
                     cursor_name, core::format_rfc3339(*received_upto));
    tx.commit();
    result.received_upto = received_upto;
    return result;
  });
}

aggregate_pass_result aggregate_store::recompute(core::aggregate_window window) {
  window = core::whole_days(window);
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    aggregate_pass_result result;
    pqxx::work tx{conn};
    std::vector<std::string> touched;
    for (auto row : tx.exec_params(touched_in_sql, core::format_rfc3339(window.from),
                                   core::format_rfc3339(window.to)))
      touched.push_back(row[0].as<std::string>());
    recompute_in(tx, session_.url(), cfg_, touched, window, {}, result);
    result.window = window;
    tx.commit();
    return result;
  });
}

std::optional<core::experiment_aggregates>
aggregate_store::load_experiment(const core::uuid& experiment) {
  return with_reconnect(session_, [&](pqxx::connection& conn)
                                    -> std::optional<core::experiment_aggregates> {
    pqxx::read_transaction tx{conn};
    auto id = experiment.str();
    auto head = tx.exec_params("SELECT name, status = 'draft', metrics::text,"
                               " (extract(epoch FROM start_at) * 1000000)::bigint FROM exp.experiments WHERE id = $1", id);
    if (head.empty())
      return std::nullopt;
    core::experiment_aggregates out;
    out.experiment_id = experiment;
    out.experiment_name = head[0][0].as<std::string>();
    out.draft = head[0][1].as<bool>();
    if (!head[0][3].is_null())
      out.started_at = head[0][3].as<core::unix_micros>();
    if (!head[0][2].is_null())
      out.roles = core::parse_experiment_metrics(nlohmann::json::parse(head[0][2].as<std::string>()), "metrics");
    for (auto row : tx.exec(lower_is_better_sql))
      out.lower_is_better.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    std::map<std::string, std::size_t> index;
    auto note_time = [&](const pqxx::field& f) {
      if (f.is_null())
        return;
      auto t = f.as<core::unix_micros>();
      out.computed_at = out.computed_at ? std::min(*out.computed_at, t) : t;
    };
    for (auto row : tx.exec_params(
           "SELECT v.id::text, v.name, v.allocation, coalesce(x.units, 0),"
           " (extract(epoch FROM x.computed_at) * 1000000)::bigint, coalesce(q.unheld_events, 0)"
           " FROM exp.variants v LEFT JOIN exp.exposure_aggregates x"
           "   ON x.experiment_id = v.experiment_id AND x.variant_id = v.id"
           "  AND x.granularity = 'experiment'"
           " LEFT JOIN exp.variant_data_quality q ON q.variant_id = v.id"
           " WHERE v.experiment_id = $1 ORDER BY v.position",
           id)) {
      core::variant_aggregates v;
      v.variant_id = *core::uuid::parse(row[0].c_str());
      v.variant_name = row[1].as<std::string>();
      v.allocation = row[2].as<double>();
      v.exposures = row[3].as<std::uint64_t>();
      note_time(row[4]);
      v.unheld_events = row[5].as<std::uint64_t>();
      index[row[0].as<std::string>()] = out.variants.size();
      out.variants.push_back(std::move(v));
    }
    for (auto row : tx.exec_params(
           std::string{"SELECT a.variant_id::text, "} + moment_columns
             + ", (extract(epoch FROM a.computed_at) * 1000000)::bigint"
               " FROM exp.metric_aggregates a WHERE a.experiment_id = $1"
               " AND a.granularity = 'experiment' AND a.bucket_start = 'epoch'"
               " ORDER BY a.event_type, a.metric_name",
           id)) {
      auto it = index.find(row[0].as<std::string>());
      if (it == index.end())
        continue;
      out.variants[it->second].metrics.push_back(read_moments(row, 1));
      note_time(row[15]);
    }
    // A variant none of whose units sent a sum or any metric has no row for it: its
    // units are all zeros, n its exposures.
    for (auto& v : out.variants)
      for (auto& other : out.variants)
        for (auto& m : other.metrics) {
          if (m.rule == core::per_unit_rule::mean)
            continue;
          auto same = [&m](const core::metric_moments& x) {
            return x.event_type == m.event_type && x.metric_name == m.metric_name;
          };
          if (std::none_of(v.metrics.begin(), v.metrics.end(), same)) {
            core::metric_moments zero;
            zero.event_type = m.event_type;
            zero.metric_name = m.metric_name;
            zero.rule = m.rule;
            zero.units = v.exposures;
            v.metrics.push_back(std::move(zero));
          }
        }
    for (auto& v : out.variants)
      std::sort(v.metrics.begin(), v.metrics.end(), [](auto& a, auto& b) {
        return std::tie(a.event_type, a.metric_name) < std::tie(b.event_type, b.metric_name);
      });
    return out;
  });
}

std::vector<stopping_candidate> aggregate_store::stopping_candidates() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<stopping_candidate> out;
    for (auto row : tx.exec("SELECT id::text, name, stopping::text FROM exp.experiments"
                            " WHERE status = 'running' AND stopping IS NOT NULL ORDER BY name"))
      out.push_back({*core::uuid::parse(row[0].c_str()), row[1].as<std::string>(),
                     core::parse_stopping_rules(nlohmann::json::parse(row[2].as<std::string>()), "stopping")});
    return out;
  });
}

std::vector<core::aggregate_point>
aggregate_store::load_series(const core::uuid& experiment, core::aggregate_granularity g,
                             core::unix_micros from, core::unix_micros to) {
  if (g == core::aggregate_granularity::experiment)
    throw std::invalid_argument("a series is of hour or day rows");
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<core::aggregate_point> out;
    for (auto row : tx.exec_params(
           std::string{"SELECT a.variant_id::text, (extract(epoch FROM a.bucket_start) * 1000000)::bigint, "}
             + moment_columns
             + ", coalesce((SELECT x.units_cumulative FROM exp.exposure_aggregates x"
               "   WHERE x.experiment_id = a.experiment_id AND x.variant_id = a.variant_id"
               "     AND x.granularity = 'hour' AND x.bucket_start < a.bucket_start + $5::interval"
               "   ORDER BY x.bucket_start DESC LIMIT 1), 0)"
               " FROM exp.metric_aggregates a JOIN exp.variants v ON v.id = a.variant_id"
               " WHERE a.experiment_id = $1 AND a.granularity = $2"
               " AND a.bucket_start >= $3::timestamptz AND a.bucket_start < $4::timestamptz"
               " ORDER BY v.position, a.event_type, a.metric_name, a.bucket_start",
           experiment.str(), std::string{core::to_string(g)}, core::format_rfc3339(from),
           core::format_rfc3339(to), g == core::aggregate_granularity::hour ? "1 hour" : "1 day")) {
      core::aggregate_point p;
      p.variant_id = *core::uuid::parse(row[0].c_str());
      p.bucket_start = row[1].as<core::unix_micros>();
      p.moments = read_moments(row, 2);
      p.event_type = p.moments.event_type;
      p.metric_name = p.moments.metric_name;
      p.exposures_cumulative = row[16].as<std::uint64_t>();
      out.push_back(std::move(p));
    }
    return out;
  });
}

} // namespace expd::runtime
