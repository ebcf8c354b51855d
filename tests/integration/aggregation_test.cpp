// Aggregation end to end against the real PostgreSQL: units assigned through
// /v1/assign, events through /v1/events, aggregates by POST /admin/v1/aggregate,
// `expctl aggregate` and the periodic pass, checked against a recomputation in C++ from
// what the test sent: units counted once, zeros for units without events, per-unit
// rules, late events, reruns identical.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <functional>
#include <map>
#include <thread>

#include "core/metric_aggregate.hpp"
#include "core/rfc3339.hpp"
#include "runtime/aggregate_store.hpp"
#include "runtime/migrations.hpp"
#include <pqxx/pqxx>
#include "runtime/wall_clock.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

const json event_types = json::parse(R"({"event_types":[
  {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","min":0,"per_unit":"mean"},
                                      "items":{"type":"integer","min":0}}},
  {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})");

// What the test sent, per variant and unit: each metric's values.
struct sent_unit {
  std::map<std::string, std::vector<double>> values; // "event_type.metric" -> values
};

struct expected_moments {
  std::uint64_t units = 0, units_with_events = 0, events = 0;
  double sum = 0, sum_sq = 0;
};

struct world {
  std::string experiment;
  std::map<std::string, std::string> variant_of;                  // unit -> variant id
  std::map<std::string, std::map<std::string, sent_unit>> sent;   // variant -> unit -> values
};

const std::map<std::string, expd::core::per_unit_rule> rules = {
  {"plan_generated.latency_ms", expd::core::per_unit_rule::mean},
  {"plan_generated.items", expd::core::per_unit_rule::sum},
  {"plan_accepted.accepted", expd::core::per_unit_rule::any}};

// The loader has written `n` events (ingestion answers before they reach PostgreSQL).
bool events_loaded(const scratch_database& db, int n) {
  return eventually([&] { return db.scalar("SELECT count(*) FROM exp.events") == std::to_string(n); });
}

// A unit's value by the rule from the raw values it sent; 0 when it sent none.
double unit_value_of(expd::core::per_unit_rule rule, const std::vector<double>& values) {
  double sum = 0;
  std::uint64_t nonzero = 0;
  for (double x : values) {
    sum += x;
    nonzero += x != 0;
  }
  return values.empty() ? 0.0 : *expd::core::unit_value(rule, values.size(), sum, nonzero);
}

// The independent computation: per-unit values by the rule from the raw values sent.
expected_moments expect_for(const world& w, const std::string& variant, const std::string& key) {
  expected_moments m;
  std::uint64_t exposed = 0;
  for (auto& [unit, v] : w.variant_of)
    exposed += v == variant;
  auto rule = rules.at(key);
  auto it = w.sent.find(variant);
  if (it != w.sent.end())
    for (auto& [unit, s] : it->second) {
      auto values = s.values.find(key);
      if (values == s.values.end() || values->second.empty())
        continue;
      auto v = unit_value_of(rule, values->second);
      ++m.units_with_events;
      m.events += values->second.size();
      m.sum += v;
      m.sum_sq += v * v;
    }
  m.units = rule == expd::core::per_unit_rule::mean ? m.units_with_events : exposed;
  return m;
}

// Applies the spec's experiment and the event types, runs it, and assigns `units`.
world prepare(const expd_process& node, const scratch_database& db, int units,
              const json& experiments = spec_example()) {
  world w;
  EXPECT_EQ(node.apply(experiments).status, 200);
  EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  EXPECT_EQ(node.request("POST", "/admin/v1/event-types/apply", event_types.dump(), true).status, 200);
  for (int i = 0; i < units; ++i) {
    auto unit = "user-" + std::to_string(i);
    auto a = node.assign({{"unit_type", "user"}, {"unit_id", unit}, {"context", json::object()}}).json();
    EXPECT_EQ(a["assignments"].size(), 1u) << a.dump();
    w.experiment = a["assignments"][0]["experiment_id"];
    w.variant_of[unit] = a["assignments"][0]["variant_id"];
  }
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == std::to_string(units); }));
  // As if it had started a day ago, so events hours old are late, not before its start
  // (cumulative rows count events from the hour the experiment started).
  db.scalar("UPDATE exp.experiments SET start_at = now() - interval '1 day'");
  return w;
}

json event(const world& w, const std::string& unit, const std::string& type, const json& metrics,
           expd::core::unix_micros at) {
  return {{"event_type", type},
          {"unit_type", "user"},
          {"unit_id", unit},
          {"experiments", {{{"experiment_id", w.experiment}, {"variant_id", w.variant_of.at(unit)}}}},
          {"metrics", metrics},
          {"timestamp", expd::core::format_rfc3339(at)}};
}

// Sends events for units 0..active-1 (several per unit, so units must be counted once)
// and records them; returns how many were sent.
int send_events(const expd_process& node, world& w, int active, expd::core::unix_micros at) {
  json batch = json::array();
  for (int i = 0; i < active; ++i) {
    auto unit = "user-" + std::to_string(i);
    auto& s = w.sent[w.variant_of.at(unit)][unit];
    for (int k = 0; k <= i % 3; ++k) {
      double latency = 100 + 10 * i + k, items = (i + k) % 4;
      batch.push_back(event(w, unit, "plan_generated", {{"latency_ms", latency}, {"items", items}}, at));
      s.values["plan_generated.latency_ms"].push_back(latency);
      s.values["plan_generated.items"].push_back(items);
    }
    bool accepted = i % 2 == 0;
    for (int k = 0; k < 2; ++k) { // twice: a unit converts once
      batch.push_back(event(w, unit, "plan_accepted", {{"accepted", accepted && k == 1}}, at));
      s.values["plan_accepted.accepted"].push_back(accepted && k == 1 ? 1 : 0);
    }
  }
  auto r = node.request("POST", "/v1/events", json{{"events", batch}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["accepted"], batch.size()) << r.body;
  return static_cast<int>(batch.size());
}

// The 'experiment' rows as text, to compare with expectations and across reruns.
std::string cumulative_rows(const scratch_database& db) {
  return db.scalar("SELECT string_agg(concat_ws(' ', variant_id, event_type, metric_name, per_unit, units,"
                   " units_with_events, events, round(sum::numeric, 6), round(sum_sq::numeric, 6),"
                   " min, max, round(mean::numeric, 9)), E'\\n' ORDER BY variant_id, event_type, metric_name)"
                   " FROM exp.metric_aggregates WHERE granularity = 'experiment'");
}

void check_against_sent(const scratch_database& db, const world& w) {
  std::set<std::string> variants;
  for (auto& [unit, v] : w.variant_of)
    variants.insert(v);
  ASSERT_EQ(variants.size(), 2u);
  for (auto& v : variants)
    for (auto& [key, rule] : rules) {
      auto dot = key.find('.');
      auto e = expect_for(w, v, key);
      auto where = " FROM exp.metric_aggregates WHERE granularity = 'experiment' AND variant_id = '" + v
                   + "' AND event_type = '" + key.substr(0, dot) + "' AND metric_name = '"
                   + key.substr(dot + 1) + "'";
      SCOPED_TRACE(v + " " + key);
      if (e.units_with_events == 0) {
        // No unit of the variant sent it: no row (results read n = exposures, sum 0).
        EXPECT_EQ(db.scalar("SELECT count(*)" + where), "0");
        continue;
      }
      EXPECT_EQ(db.scalar("SELECT units" + where), std::to_string(e.units));
      EXPECT_EQ(db.scalar("SELECT units_with_events" + where), std::to_string(e.units_with_events));
      EXPECT_EQ(db.scalar("SELECT events" + where), std::to_string(e.events));
      EXPECT_NEAR(std::stod(db.scalar("SELECT sum" + where)), e.sum, 1e-6);
      EXPECT_NEAR(std::stod(db.scalar("SELECT sum_sq" + where)), e.sum_sq, 1e-6);
      EXPECT_NEAR(std::stod(db.scalar("SELECT mean" + where)), e.sum / e.units, 1e-9);
    }
  // Exposures per variant: the units assigned to it.
  for (auto& v : variants) {
    std::uint64_t exposed = 0;
    for (auto& [unit, var] : w.variant_of)
      exposed += var == v;
    EXPECT_EQ(db.scalar("SELECT units FROM exp.exposure_aggregates WHERE granularity = 'experiment'"
                        " AND variant_id = '" + v + "'"),
              std::to_string(exposed));
  }
}

http_reply aggregate(const expd_process& node, const json& body) {
  return node.request("POST", "/admin/v1/aggregate", body.dump(), true);
}

json window_around(expd::core::unix_micros t) {
  return {{"from", expd::core::format_rfc3339(t - 3LL * 3600 * 1000000)},
          {"to", expd::core::format_rfc3339(t + 3600LL * 1000000)}};
}

} // namespace

TEST(aggregation, on_demand_counts_units_once_with_zeros_and_reruns_identically) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto w = prepare(node, db, 40);
  auto now = expd::runtime::now_micros();
  int sent = send_events(node, w, 25, now - 60LL * 1000000); // 15 exposed units send nothing
  ASSERT_TRUE(events_loaded(db, sent));

  auto r = aggregate(node, window_around(now));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["experiments"], 1);
  EXPECT_EQ(r.json()["events_scanned"], sent); // every event carries the experiment
  EXPECT_NE(node.request("GET", "/metrics").body.find("expd_aggregate_events_scanned_total " + std::to_string(sent)),
            std::string::npos);
  check_against_sent(db, w);
  // Hour and day rows exist for the events' bucket, and the view shows them.
  EXPECT_NE(db.scalar("SELECT count(*) FROM exp.metric_aggregates WHERE granularity = 'hour'"), "0");
  EXPECT_NE(db.scalar("SELECT count(*) FROM exp.metric_aggregates WHERE granularity = 'day'"), "0");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.v_experiment_metrics WHERE experiment_name = 'planner_policy_exp'"),
            db.scalar("SELECT count(*) FROM exp.metric_aggregates"));
  // The hour bucket of a sum metric covers the same units as the cumulative row here.
  EXPECT_EQ(db.scalar("SELECT sum(sum) FROM exp.metric_aggregates WHERE granularity = 'hour' AND metric_name = 'items'"),
            db.scalar("SELECT sum(sum) FROM exp.metric_aggregates WHERE granularity = 'experiment' AND metric_name = 'items'"));

  auto before = cumulative_rows(db);
  auto all_before = db.scalar("SELECT count(*) FROM exp.metric_aggregates");
  ASSERT_EQ(aggregate(node, window_around(now)).status, 200);
  EXPECT_EQ(cumulative_rows(db), before);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.metric_aggregates"), all_before);
}

TEST(aggregation, a_late_event_is_recomputed_by_expctl_aggregate_without_double_counting) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto w = prepare(node, db, 20);
  auto now = expd::runtime::now_micros();
  int sent = send_events(node, w, 10, now - 60LL * 1000000);
  ASSERT_TRUE(events_loaded(db, sent));
  ASSERT_EQ(aggregate(node, window_around(now)).status, 200);

  // A late event two hours back, from a unit that had sent nothing.
  auto late_at = now - 2LL * 3600 * 1000000;
  std::string unit = "user-15";
  auto r = node.request("POST", "/v1/events",
                        event(w, unit, "plan_generated", {{"latency_ms", 900}, {"items", 7}}, late_at).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  w.sent[w.variant_of[unit]][unit].values["plan_generated.latency_ms"].push_back(900);
  w.sent[w.variant_of[unit]][unit].values["plan_generated.items"].push_back(7);
  ASSERT_TRUE(events_loaded(db, sent + 1));

  auto window = window_around(now);
  for (int run = 0; run < 2; ++run) { // twice: replacing, never adding
    auto out = run_expctl(node, "aggregate --from " + window["from"].get<std::string>() + " --to "
                              + window["to"].get<std::string>());
    EXPECT_EQ(out.status, 0) << out.out;
    EXPECT_NE(out.out.find("aggregated"), std::string::npos) << out.out;
  }
  check_against_sent(db, w);
  auto hour = expd::core::format_rfc3339(expd::core::hour_start(late_at));
  EXPECT_EQ(db.scalar("SELECT units_with_events FROM exp.metric_aggregates WHERE granularity = 'hour'"
                      " AND metric_name = 'items' AND bucket_start = '" + hour + "'"),
            "1");

  // expctl names the field the server refused, and exits 1.
  auto bad = run_expctl(node, "aggregate --from yesterday --to " + window["to"].get<std::string>());
  EXPECT_EQ(WEXITSTATUS(bad.status), 1) << bad.out;
}

TEST(aggregation, the_periodic_pass_picks_up_new_and_late_events) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=200"}};
  auto w = prepare(node, db, 12);
  auto now = expd::runtime::now_micros();
  int sent = send_events(node, w, 8, now - 30LL * 1000000);
  auto expected_accepted = [&] {
    std::set<std::string> variants;
    for (auto& [u, v] : w.variant_of)
      variants.insert(v);
    double total = 0;
    for (auto& v : variants)
      total += expect_for(w, v, "plan_accepted.accepted").sum;
    return total;
  };
  auto stored_sum = [&](const char* metric) {
    auto s = db.scalar(std::string{"SELECT sum(sum) FROM exp.metric_aggregates WHERE granularity = 'experiment'"
                                   " AND metric_name = '"} + metric + "'");
    return s.empty() ? -1.0 : std::stod(s);
  };
  ASSERT_TRUE(eventually([&] {
    return db.scalar("SELECT count(*) FROM exp.events") == std::to_string(sent)
           && stored_sum("accepted") == expected_accepted()
           && db.scalar("SELECT sum(events) FROM exp.metric_aggregates WHERE granularity = 'experiment'"
                        " AND metric_name = 'items'") == std::to_string(sent - 16);
  })) << cumulative_rows(db);
  check_against_sent(db, w);

  // A late conversion an hour back from a unit that had not converted.
  std::string unit = "user-1";
  auto r = node.request("POST", "/v1/events",
                        event(w, unit, "plan_accepted", {{"accepted", true}}, now - 3600LL * 1000000).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  w.sent[w.variant_of[unit]][unit].values["plan_accepted.accepted"].push_back(1);
  ASSERT_TRUE(eventually([&] { return stored_sum("accepted") == expected_accepted(); }))
    << cumulative_rows(db);
  check_against_sent(db, w);
  EXPECT_NE(db.scalar("SELECT received_upto FROM exp.aggregate_cursors"), "");
}

TEST(aggregation, the_admin_endpoint_names_the_field_of_bad_input) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto field_of = [&](const std::string& body) {
    auto r = node.request("POST", "/admin/v1/aggregate", body, true);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    return r.json()["error"]["field"].get<std::string>();
  };
  EXPECT_EQ(field_of(""), "body");
  EXPECT_EQ(field_of("not json"), "body");
  EXPECT_EQ(field_of("[1]"), "body");
  EXPECT_EQ(field_of(R"({"to":"2025-01-02T00:00:00Z"})"), "from");
  EXPECT_EQ(field_of(R"({"from":"2025-01-01T00:00:00Z"})"), "to");
  EXPECT_EQ(field_of(R"({"from":"2025-01-01","to":"2025-01-02T00:00:00Z"})"), "from");
  EXPECT_EQ(field_of(R"({"from":"2025-01-02T00:00:00Z","to":"2025-01-01T00:00:00Z"})"), "to");
  EXPECT_EQ(field_of(R"({"from":"2020-01-01T00:00:00Z","to":"2025-01-01T00:00:00Z"})"), "to");
  EXPECT_EQ(field_of(R"({"from":"2025-01-01T00:00:00Z","to":"2025-01-02T00:00:00Z","x":1})"), "x");
  EXPECT_EQ(node.request("GET", "/admin/v1/aggregate", "", true).status, 405);
  EXPECT_EQ(node.request("POST", "/admin/v1/aggregate", R"({"from":"2025-01-01T00:00:00Z","to":"2025-01-02T00:00:00Z"})").status, 401);
  EXPECT_EQ(node.request("POST", "/admin/v1/aggregate", "{}", true, "text/plain").status, 415);
  // A body over --max-body-bytes is refused before it is read whole.
  EXPECT_EQ(node.request("POST", "/admin/v1/aggregate", std::string(2 << 20, ' '), true).status, 413);
  // A good window with no events: nothing to do, and said so.
  auto r = aggregate(node, {{"from", "2025-01-01T00:00:00Z"}, {"to", "2025-01-02T00:00:00Z"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["experiments"], 0);
  EXPECT_EQ(r.json()["metric_rows"], 0);
}

TEST(aggregation, cuped_covariates_come_from_the_pre_period_per_unit) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto doc = spec_example();
  doc["experiments"][0]["cuped"] = {{"pre_period_days", 7}};
  auto w = prepare(node, db, 40, doc); // started a day ago: the pre-period is the 7 days before
  auto listed = node.request("GET", "/admin/v1/experiments", "", true).json();
  EXPECT_EQ(listed["experiments"][0]["cuped"], (json{{"pre_period_days", 7}})) << listed.dump();
  auto now = expd::runtime::now_micros();
  int sent = send_events(node, w, 25, now - 60LL * 1000000);
  // Pre-period events, three days old, without experiments (units were not assigned
  // yet): units 0..29 of them, so some units have no covariate; one event of another
  // unit type with a unit id of ours must not count.
  std::map<std::string, std::map<std::string, std::vector<double>>> pre; // unit -> metric -> values
  json batch = json::array();
  auto pre_at = now - 3LL * 86400 * 1000000;
  for (int i = 0; i < 30; ++i) {
    auto unit = "user-" + std::to_string(i);
    double latency = 95 + 10 * i, items = i % 4;
    json metrics = {{"latency_ms", latency}, {"items", items}};
    batch.push_back({{"event_type", "plan_generated"}, {"unit_type", "user"}, {"unit_id", unit},
                     {"experiments", json::array()}, {"metrics", metrics},
                     {"timestamp", expd::core::format_rfc3339(pre_at)}});
    pre[unit]["plan_generated.latency_ms"].push_back(latency);
    pre[unit]["plan_generated.items"].push_back(items);
    bool accepted = i % 3 == 0;
    batch.push_back({{"event_type", "plan_accepted"}, {"unit_type", "user"}, {"unit_id", unit},
                     {"experiments", json::array()}, {"metrics", {{"accepted", accepted}}},
                     {"timestamp", expd::core::format_rfc3339(pre_at)}});
    pre[unit]["plan_accepted.accepted"].push_back(accepted);
  }
  batch.push_back({{"event_type", "plan_generated"}, {"unit_type", "team"}, {"unit_id", "user-1"},
                   {"experiments", json::array()}, {"metrics", {{"latency_ms", 1e6}, {"items", 1000}}},
                   {"timestamp", expd::core::format_rfc3339(pre_at)}});
  auto r = node.request("POST", "/v1/events", json{{"events", batch}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  sent += static_cast<int>(batch.size());
  ASSERT_TRUE(events_loaded(db, sent));
  ASSERT_EQ(aggregate(node, window_around(now)).status, 200);
  check_against_sent(db, w);

  // The CUPED sums, recomputed from what was sent: over the units n counts (sum and
  // any: every exposed unit; mean: units with events), x the pre-period value or 0.
  for (auto& [key, rule] : rules) {
    std::map<std::string, std::array<double, 4>> want; // variant -> n, sx, sxx, sxy
    for (auto& [unit, variant] : w.variant_of) {
      auto& sent_by = w.sent[variant];
      auto y_it = sent_by.find(unit);
      std::vector<double> ys;
      if (y_it != sent_by.end() && y_it->second.values.count(key))
        ys = y_it->second.values.at(key);
      if (rule == expd::core::per_unit_rule::mean && ys.empty())
        continue;
      std::vector<double> xs;
      if (pre.count(unit) && pre[unit].count(key))
        xs = pre[unit][key];
      double x = unit_value_of(rule, xs), y = unit_value_of(rule, ys);
      auto& a = want[variant];
      a[0] += 1;
      a[1] += x;
      a[2] += x * x;
      a[3] += x * y;
    }
    auto dot = key.find('.');
    for (auto& [variant, a] : want) {
      SCOPED_TRACE(variant + " " + key);
      auto where = " FROM exp.metric_aggregates WHERE granularity = 'experiment' AND variant_id = '" + variant
                   + "' AND event_type = '" + key.substr(0, dot) + "' AND metric_name = '"
                   + key.substr(dot + 1) + "'";
      EXPECT_EQ(db.scalar("SELECT units_x" + where), std::to_string(static_cast<int>(a[0])));
      EXPECT_EQ(db.scalar("SELECT units_x = units" + where), "t");
      EXPECT_NEAR(std::stod(db.scalar("SELECT sum_x" + where)), a[1], 1e-6);
      EXPECT_NEAR(std::stod(db.scalar("SELECT sum_x_sq" + where)), a[2], 1e-6);
      EXPECT_NEAR(std::stod(db.scalar("SELECT sum_xy" + where)), a[3], 1e-6);
    }
  }
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.metric_aggregates WHERE granularity <> 'experiment'"
                      " AND units_x IS NOT NULL"),
            "0");

  // Results carry the adjustment: latency before and after is nearly the same per unit,
  // so most of its variance goes.
  auto res = node.request("GET", "/v1/experiments/" + w.experiment + "/results").json();
  bool found = false;
  for (auto& v : res["variants"])
    for (auto& m : v["metrics"])
      if (m["metric_name"] == "latency_ms" && m.contains("vs_control")) {
        auto& c = m["vs_control"]["cuped"];
        EXPECT_EQ(c["status"], "ok") << c.dump();
        EXPECT_GT(c["variance_reduction"].get<double>(), 0.9) << c.dump();
        found = true;
      }
  EXPECT_TRUE(found) << res.dump();
  auto out = run_expctl(node, "results planner_policy_exp");
  EXPECT_EQ(out.status, 0) << out.out;
  auto section = out.out.find("CUPED");
  ASSERT_NE(section, std::string::npos) << out.out;
  EXPECT_NE(out.out.find("plan_generated.latency_ms", section), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("VAR_REDUCTION", section), std::string::npos) << out.out;
  // Switching CUPED off empties the columns on the next pass.
  doc["experiments"][0].erase("cuped");
  doc["experiments"][0]["status"] = "running";
  ASSERT_EQ(node.apply(doc).status, 200);
  ASSERT_EQ(aggregate(node, window_around(now)).status, 200);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.metric_aggregates WHERE units_x IS NOT NULL"), "0");
  EXPECT_TRUE(node.request("GET", "/admin/v1/experiments", "", true).json()["experiments"][0]["cuped"].is_null());
}

namespace {

// A native question of analytics/ as Metabase runs it: `[[...]]` kept with
// {{experiment}} as a string literal when the filter is set, dropped when not.
std::string render_question(const std::string& path, const std::optional<std::string>& experiment) {
  std::ifstream in(path);
  std::string sql{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::string out;
  for (std::size_t i = 0; i < sql.size();) {
    if (sql.compare(i, 2, "[[") == 0) {
      auto end = sql.find("]]", i);
      if (experiment)
        out += sql.substr(i + 2, end - i - 2);
      i = end + 2;
    } else {
      out += sql[i++];
    }
  }
  for (std::size_t at; (at = out.find("{{experiment}}")) != std::string::npos;)
    out.replace(at, 14, "'" + experiment.value_or("") + "'");
  while (!out.empty() && (out.back() == '\n' || out.back() == ';' || out.back() == ' '))
    out.pop_back();
  return out;
}

} // namespace

TEST(aggregation, the_metabase_questions_run_as_the_read_only_role) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  db.scalar("INSERT INTO exp.policies (name) VALUES ('leftover_planner')");
  auto version = [&](int n) {
    return db.scalar("INSERT INTO exp.policy_versions (policy_id, version, mlflow_model_name,"
                     " mlflow_model_version) SELECT id, " + std::to_string(n) + ", 'planner', '"
                     + std::to_string(n) + "' FROM exp.policies RETURNING id");
  };
  auto v1 = version(1), v2 = version(2);
  db.scalar("INSERT INTO exp.offline_replay_results (policy_version_id, dataset, metric_name, value)"
            " VALUES ('" + v1 + "', 'logged-2025-03', 'accepted', 0.31), ('" + v2
            + "', 'logged-2025-03', 'accepted', 0.36)");
  auto doc = spec_example();
  doc["experiments"][0]["variants"][0]["config"]["policy_version_id"] = v1;
  doc["experiments"][0]["variants"][1]["config"]["policy_version_id"] = v2;
  auto w = prepare(node, db, 40, doc);
  auto now = expd::runtime::now_micros();
  int sent = send_events(node, w, 25, now - 60LL * 1000000);
  ASSERT_TRUE(events_loaded(db, sent));
  ASSERT_EQ(aggregate(node, window_around(now)).status, 200);
  ASSERT_EQ(db.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'expd_readonly'"), "1");

  int questions = 0;
  for (auto& file : std::filesystem::directory_iterator(std::string{EXPD_SOURCE_DIR} + "/analytics")) {
    if (file.path().extension() != ".sql")
      continue;
    ++questions;
    auto path = file.path().string();
    auto filtered = render_question(path, "planner_policy_exp") != render_question(path, std::nullopt);
    for (std::optional<std::string> filter : {std::optional<std::string>{}, std::optional<std::string>{"planner_policy_exp"},
                                              std::optional<std::string>{"no_such_experiment"}}) {
      SCOPED_TRACE(path + " filter " + filter.value_or("(none)"));
      auto count = [&](const std::string& where) {
        return std::stoi(db.scalar("SET ROLE expd_readonly; SELECT count(*) FROM (" + render_question(path, filter)
                                   + ") q " + where));
      };
      if (filter == "no_such_experiment" && filtered)
        EXPECT_EQ(count(""), 0);
      else
        EXPECT_GT(count(""), 0);
    }
    if (file.path().filename() == "offline_vs_online_trends.sql") {
      auto q = render_question(path, std::nullopt);
      EXPECT_EQ(db.scalar("SELECT count(DISTINCT source) FROM (" + q + ") q"), "2");
      EXPECT_NE(db.scalar("SELECT count(*) FROM (" + q + ") q WHERE source = 'online' AND metric_name = 'accepted'"), "0");
    }
  }
  EXPECT_EQ(questions, 5);
  // The read-only role reads; it cannot write.
  EXPECT_THROW(db.scalar("SET ROLE expd_readonly; DELETE FROM exp.metric_aggregates"), std::exception);
}

// Issue 11: one periodic pass at a time in the cluster. While another node's pass holds
// the lock a pass does nothing; once that node's session ends (its node died) the next
// pass runs.
TEST(aggregation, a_periodic_pass_is_skipped_while_another_node_runs_one) {
  scratch_database db;
  expd::runtime::migrate(db.url());
  expd::runtime::aggregate_store store{db.url()};
  auto other = std::make_unique<pqxx::connection>(db.url());
  auto holder = pqxx::nontransaction{*other}.exec1("SELECT pg_backend_pid()")[0].as<int>();
  pqxx::nontransaction{*other}.exec("SELECT pg_advisory_lock(hashtext('expd.aggregate_pass'))");
  EXPECT_TRUE(store.run_pass().skipped);
  other.reset(); // the holder's connection goes, as when its process is killed
  // The server ends the holder's backend (and frees its lock) a moment after the client
  // hangs up; the pass is only expected to run once that backend is gone.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(holder)) != "0"
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(store.run_pass().skipped);
}
