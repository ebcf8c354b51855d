// Results, series, the experiment list and the dashboard against a real expd and
// PostgreSQL: units assigned through /v1/assign, events through /v1/events, aggregates by
// POST /admin/v1/aggregate; then the dashboard in headless Chromium (skipped when
// Chromium is not installed), which keeps a screenshot in the build folder.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/expd_process.hpp"
#include "tests/integration/headless_chromium.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

const json event_types = json::parse(R"({"event_types":[
  {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","min":0,"per_unit":"mean","better":"lower"},
                                      "cost_usd":{"type":"number","min":0}}},
  {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})");

std::string field_of(const http_reply& reply) {
  return reply.json()["error"].value("field", "");
}

// The spec's experiment, running, with `units` users assigned and events for each,
// spread over the last two days (so day and hour series have points), aggregated.
// Returns the experiment id.
// `accepted(i, variant_name)` says whether unit i accepted its plan (default: two in three).
std::string seed(const expd_process& node, const scratch_database& db, int units,
                 bool aggregate = true, const json& experiments = spec_example(),
                 const std::function<bool(int, const std::string&)>& accepted = {}) {
  EXPECT_EQ(node.request("POST", "/admin/v1/event-types/apply", event_types.dump(), true).status, 200);
  EXPECT_EQ(node.apply(experiments).status, 200);
  EXPECT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  // Started three days ago, so the events of the last two days count.
  db.scalar("UPDATE exp.experiments SET start_at = now() - interval '3 days' RETURNING 1");
  std::string experiment;
  std::map<std::string, std::string> variant_of, name_of;
  for (int i = 0; i < units; ++i) {
    auto unit = "user-" + std::to_string(i);
    auto a = node.assign({{"unit_type", "user"}, {"unit_id", unit}, {"context", json::object()}}).json();
    experiment = a["assignments"][0]["experiment_id"];
    variant_of[unit] = a["assignments"][0]["variant_id"];
    name_of[unit] = a["assignments"][0]["variant_name"];
  }
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == std::to_string(units); }));
  auto now = expd::runtime::now_micros();
  json batch = json::array();
  for (int i = 0; i < units; ++i) {
    auto unit = "user-" + std::to_string(i);
    json context = {{{"experiment_id", experiment}, {"variant_id", variant_of[unit]}}};
    auto at = expd::core::format_rfc3339(now - (i % 40) * 3600LL * 1000000 - 60LL * 1000000);
    batch.push_back({{"event_type", "plan_generated"}, {"unit_type", "user"}, {"unit_id", unit},
                     {"experiments", context}, {"timestamp", at},
                     {"metrics", {{"latency_ms", 200 + (i * 37) % 150}, {"cost_usd", 0.01 * (1 + i % 5)}}}});
    batch.push_back({{"event_type", "plan_accepted"}, {"unit_type", "user"}, {"unit_id", unit},
                     {"experiments", context}, {"timestamp", at},
                     {"metrics", {{"accepted", accepted ? accepted(i, name_of[unit]) : i % 3 != 0}}}});
  }
  auto r = node.request("POST", "/v1/events", json{{"events", batch}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.events") == std::to_string(batch.size()); }));
  if (aggregate) {
    json window = {{"from", expd::core::format_rfc3339(now - 3 * 86400LL * 1000000)},
                   {"to", expd::core::format_rfc3339(now + 3600LL * 1000000)}};
    auto agg = node.request("POST", "/admin/v1/aggregate", window.dump(), true);
    EXPECT_EQ(agg.status, 200) << agg.body;
  }
  return experiment;
}

std::string build_dir() {
  std::string expd = EXPD_BINARY_DEFAULT;
  return expd.substr(0, expd.rfind('/'));
}

} // namespace

TEST(results, answers_results_series_and_the_list_from_aggregates) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto id = seed(node, db, 80);

  auto list = node.request("GET", "/v1/experiments");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json()["experiments"].size(), 1u);
  auto line = list.json()["experiments"][0];
  EXPECT_EQ(line["id"], id);
  EXPECT_EQ(line["status"], "running");
  EXPECT_EQ(line["exposures"], 80);
  EXPECT_TRUE(line["srm"].contains("mismatch"));

  auto r = node.request("GET", "/v1/experiments/" + id + "/results");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = r.json();
  EXPECT_EQ(doc["status"], "ok");
  EXPECT_EQ(doc["control"]["variant_name"], "control");
  EXPECT_EQ(doc["variants"].size(), 2u);
  EXPECT_EQ(doc["metrics"].size(), 3u) << doc["metrics"].dump();
  std::uint64_t exposures = 0;
  for (auto& v : doc["variants"])
    exposures += v["exposures"].get<std::uint64_t>();
  EXPECT_EQ(exposures, 80u);
  for (auto& v : doc["variants"])
    for (auto& m : v["metrics"])
      if (m.contains("vs_control")) {
        EXPECT_TRUE(m["vs_control"].contains("adjusted_p_value")) << m.dump();
        EXPECT_TRUE(m["vs_control"].contains("always_valid_p_value"));
      }
  EXPECT_EQ(r.body.find("null"), std::string::npos) << r.body;

  auto bh = node.request("GET", "/v1/experiments/" + id + "/results?correction=bh&confidence=0.9&control=leftovers_v2");
  ASSERT_EQ(bh.status, 200) << bh.body;
  EXPECT_EQ(bh.json()["correction"], "bh");
  EXPECT_EQ(bh.json()["control"]["variant_name"], "leftovers_v2");

  auto series = node.request("GET", "/v1/experiments/" + id + "/series?granularity=hour");
  ASSERT_EQ(series.status, 200) << series.body;
  EXPECT_EQ(series.json()["granularity"], "hour");
  EXPECT_FALSE(series.json()["series"].empty()) << series.body;
  auto days = node.request("GET", "/v1/experiments/" + id + "/series");
  ASSERT_EQ(days.status, 200) << days.body;
  EXPECT_FALSE(days.json()["series"].empty());

  // expctl results: by name, as a table and as JSON.
  auto expctl = build_dir() + "/expctl --server=http://127.0.0.1:" + std::to_string(node.port());
  auto table = run_command(expctl + " results planner_policy_exp 2>&1");
  EXPECT_EQ(table.status, 0) << table.out;
  EXPECT_NE(table.out.find("leftovers_v2"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("plan_generated.latency_ms"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("SRM"), std::string::npos) << table.out;
  auto as_json = run_command(expctl + " -o json results " + id + " 2>&1");
  EXPECT_EQ(as_json.status, 0) << as_json.out;
  EXPECT_EQ(json::parse(as_json.out, nullptr, false)["experiment"]["id"], id) << as_json.out;
  EXPECT_NE(run_command(expctl + " results no_such_experiment 2>&1").status, 0);
  // The options reach the server: the answer says what it used; a bad one names its field.
  auto chosen = run_command(expctl + " -o json results " + id
                            + " --confidence 0.9 --control leftovers_v2 --correction bh 2>&1");
  ASSERT_EQ(chosen.status, 0) << chosen.out;
  auto options_doc = json::parse(chosen.out, nullptr, false);
  EXPECT_EQ(options_doc["confidence"], 0.9) << chosen.out;
  EXPECT_EQ(options_doc["correction"], "bh") << chosen.out;
  EXPECT_EQ(options_doc["control"]["variant_name"], "leftovers_v2") << chosen.out;
  auto bad = run_command(expctl + " results " + id + " --correction bonferroni 2>&1");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("correction"), std::string::npos) << bad.out;
}

// The experiment's metrics block and the event types' directions, from apply to the
// results document and expctl; a block naming an undeclared metric is refused whole.
TEST(results, roles_and_directions_reach_the_results) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto id = seed(node, db, 60);
  auto doc = spec_example();
  doc["experiments"][0]["metrics"] = json::parse(R"({"goals":["plan_accepted.accepted"],
    "guardrails":[{"metric":"plan_generated.latency_ms","margin":0.1}]})");
  auto undeclared = spec_example();
  undeclared["experiments"][0]["metrics"] = json::parse(R"({"goals":["plan_accepted.accepted","plan_accepted.acepted"]})");
  auto refused = node.apply(undeclared);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(field_of(refused), "experiments[0].metrics.goals[1]") << refused.body;
  auto no_type = spec_example();
  no_type["experiments"][0]["metrics"] = json::parse(R"({"secondary":["plan_shown.accepted"]})");
  EXPECT_EQ(field_of(node.apply(no_type)), "experiments[0].metrics.secondary[0]");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.experiments WHERE metrics IS NOT NULL"), "0");

  auto applied = node.apply(doc);
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(db.scalar("SELECT metrics->'guardrails'->0->>'margin' FROM exp.experiments"), "0.1");
  auto got = node.request("GET", "/admin/v1/experiments", "", true);
  EXPECT_NE(got.body.find("\"goals\":[\"plan_accepted.accepted\"]"), std::string::npos) << got.body;

  auto r = node.request("GET", "/v1/experiments/" + id + "/results");
  ASSERT_EQ(r.status, 200) << r.body;
  auto results = r.json();
  ASSERT_EQ(results["metrics"].size(), 3u) << results["metrics"].dump();
  EXPECT_EQ(results["metrics"][0]["metric_name"], "accepted");
  EXPECT_EQ(results["metrics"][0]["role"], "goal");
  EXPECT_EQ(results["metrics"][1]["metric_name"], "latency_ms");
  EXPECT_EQ(results["metrics"][1]["role"], "guardrail");
  EXPECT_EQ(results["metrics"][1]["better"], "lower");
  EXPECT_EQ(results["metrics"][2]["metric_name"], "cost_usd");
  EXPECT_EQ(results["metrics"][2]["role"], "exploratory");
  auto& treatment = results["variants"][results["variants"][0]["is_control"].get<bool>() ? 1 : 0];
  auto& latency = treatment["metrics"][1]["vs_control"];
  EXPECT_EQ(latency["margin"], 0.1);
  EXPECT_TRUE(latency["non_inferiority"].is_string()) << latency.dump();
  EXPECT_TRUE(latency["verdict"].is_string()) << latency.dump();
  EXPECT_TRUE(results["methods"].contains("srm"));
  EXPECT_EQ(r.body.find("null"), std::string::npos) << r.body;

  auto expctl = build_dir() + "/expctl --server=http://127.0.0.1:" + std::to_string(node.port());
  auto table = run_command(expctl + " results planner_policy_exp 2>&1");
  ASSERT_EQ(table.status, 0) << table.out;
  EXPECT_NE(table.out.find("ROLE"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("guardrail"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("lower"), std::string::npos) << table.out;
  auto power = run_command(expctl + " results planner_policy_exp --power --effect 0.2 --target-power 0.9 2>&1");
  ASSERT_EQ(power.status, 0) << power.out;
  EXPECT_NE(power.out.find("POWER"), std::string::npos) << power.out;
  EXPECT_NE(power.out.find("DAYS_LEFT"), std::string::npos) << power.out;
  EXPECT_NE(power.out.find("20.00%"), std::string::npos) << power.out;
  auto sized = node.request("GET", "/v1/experiments/" + id + "/results?effect=0.2&power=0.9").json();
  auto& block = sized["variants"][1]["metrics"][0]["vs_control"]["power"];
  EXPECT_EQ(block["target_effect"], 0.2) << block.dump();
  EXPECT_EQ(block["power"], 0.9);
  EXPECT_TRUE(block["days_left"].is_number()) << block.dump();
  EXPECT_EQ(field_of(node.request("GET", "/v1/experiments/" + id + "/results?effect=0")), "effect");
}

// A goal with overwhelming evidence stops the experiment at the aggregation, and the
// reason shows in the experiment list and expctl; the rule acts once.
TEST(results, a_stopping_rule_stops_an_experiment_and_says_why) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto doc = spec_example();
  doc["experiments"][0]["metrics"] = {{"goals", {"plan_accepted.accepted"}}};
  doc["experiments"][0]["stopping"] = {{"goal", "stop"}, {"srm", "pause"}, {"min_units", 20}};
  auto bad = spec_example();
  bad["experiments"][0]["stopping"] = {{"goal", "halt"}};
  auto refused = node.apply(bad);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(field_of(refused), "experiments[0].stopping.goal");
  // 90% against 60% accepted: past doubt at 400 units for the default mixture
  // (tau = 10% of the control rate).
  seed(node, db, 400, true, doc, [](int i, const std::string& variant) {
    return variant == "leftovers_v2" ? i % 10 != 0 : i % 5 < 3;
  });
  EXPECT_TRUE(eventually([&] { return db.scalar("SELECT status FROM exp.experiments") == "stopped"; }))
    << db.scalar("SELECT status || ' ' || status_reason FROM exp.experiments");
  auto reason = db.scalar("SELECT status_reason FROM exp.experiments");
  EXPECT_EQ(reason.rfind("stopping rule goal: goal plan_accepted.accepted: leftovers_v2 is better than control", 0), 0u)
    << reason;
  auto listed = node.request("GET", "/admin/v1/experiments", "", true).json();
  auto& e = listed["experiments"][0];
  EXPECT_EQ(e["status"], "stopped");
  EXPECT_EQ(e["status_reason"], reason);
  EXPECT_TRUE(e["status_changed_at"].is_string());
  EXPECT_EQ(e["stopping"]["goal"], "stop");
  auto table = run_expctl(node, "get experiments");
  EXPECT_NE(table.out.find("REASON"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("stopping rule goal"), std::string::npos) << table.out;
  auto overview = node.request("GET", "/v1/experiments").json();
  EXPECT_EQ(overview["experiments"][0]["status_reason"], reason);
  auto metrics = node.request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("expd_aggregate_rule_actions_total"), std::string::npos);
  // An operator's reason replaces the rule's; an unknown field is refused.
  auto odd = node.request("POST", "/admin/v1/experiments/planner_policy_exp/status",
                          R"({"status":"stopped","why":"x"})", true);
  EXPECT_EQ(odd.status, 400);
  EXPECT_EQ(field_of(odd), "why");
}

TEST(results, refuses_bad_ids_and_parameters_naming_the_field) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto id = seed(node, db, 10);
  struct bad {
    std::string path;
    int status;
    std::string field;
  };
  for (auto& b : std::vector<bad>{
         {"/v1/experiments/not-a-uuid/results", 400, "id"},
         {"/v1/experiments/00000000-0000-4000-8000-000000000000/results", 404, "id"},
         {"/v1/experiments/00000000-0000-4000-8000-000000000000/series", 404, "id"},
         {"/v1/experiments/" + id + "/results?confidence=2", 400, "confidence"},
         {"/v1/experiments/" + id + "/results?correction=none", 400, "correction"},
         {"/v1/experiments/" + id + "/results?control=nobody", 400, "control"},
         {"/v1/experiments/" + id + "/results?colour=red", 400, "colour"},
         {"/v1/experiments/" + id + "/series?granularity=minute", 400, "granularity"},
         {"/v1/experiments/" + id + "/series?granularity=hour&from=2020-01-01T00:00:00Z", 400, "from"},
         {"/v1/experiments/" + id + "/series?to=soon", 400, "to"},
         {"/v1/experiments/" + id + "/other", 404, "path"}}) {
    auto r = node.request("GET", b.path);
    EXPECT_EQ(r.status, b.status) << b.path << " " << r.body;
    EXPECT_EQ(field_of(r), b.field) << b.path;
  }
  EXPECT_EQ(node.request("POST", "/v1/experiments/" + id + "/results").status, 405);
}

TEST(results, a_never_aggregated_experiment_is_a_clear_answer) {
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  auto id = seed(node, db, 6, false);
  auto r = node.request("GET", "/v1/experiments/" + id + "/results");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "not aggregated yet");
  EXPECT_FALSE(r.json()["warnings"].empty());
  auto s = node.request("GET", "/v1/experiments/" + id + "/series");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_TRUE(s.json()["series"].empty());
}

TEST(results, serves_the_dashboard_files_and_nothing_else) {
  scratch_database db;
  expd_process node{db};
  auto index = node.request("GET", "/dashboard");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.headers.find("text/html"), std::string::npos) << index.headers;
  EXPECT_NE(index.body.find("/dashboard/app.js"), std::string::npos);
  auto app = node.request("GET", "/dashboard/app.js");
  EXPECT_EQ(app.status, 200);
  EXPECT_NE(app.headers.find("text/javascript"), std::string::npos);
  EXPECT_NE(node.request("GET", "/dashboard/style.css").headers.find("text/css"), std::string::npos);
  auto chart = node.request("GET", "/dashboard/vendor/chart.js");
  if (std::filesystem::exists("/usr/share/javascript/chart.js/chart.min.js"))
    EXPECT_EQ(chart.status, 200);
  else
    EXPECT_EQ(chart.status, 500);
  for (auto path : {"/dashboard/../CMakeLists.txt", "/dashboard/%2e%2e/%2e%2e/etc/passwd",
                    "/dashboard/..%2F..%2Fetc%2Fpasswd", "/dashboard/missing.js", "/dashboard/vendor/"}) {
    auto r = node.request("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(field_of(r), "path") << path;
  }
  EXPECT_EQ(node.request("POST", "/dashboard", "{}").status, 405);
}

// "Keep a screenshot": the dashboard drawn by headless Chromium from a seeded database,
// with no script error, every chart painted, and the picture kept in the build folder.
TEST(results, dashboard_draws_its_charts_in_headless_chromium) {
  auto chromium = chromium_binary();
  if (chromium.empty())
    GTEST_SKIP() << "chromium is not installed (deploy/install-deps.sh installs it)";
  if (!std::filesystem::exists("/usr/share/javascript/chart.js/chart.min.js"))
    GTEST_SKIP() << "libjs-chart.js is not installed (deploy/install-deps.sh installs it)";
  scratch_database db;
  expd_process node{db, {"--aggregate-interval-ms=0"}};
  seed(node, db, 120);
  auto roles = spec_example();
  roles["experiments"][0]["metrics"] = json::parse(R"({"goals":["plan_accepted.accepted"],
    "guardrails":[{"metric":"plan_generated.latency_ms","margin":0.1}]})");
  roles["experiments"][0]["cuped"] = {{"pre_period_days", 2}};
  ASSERT_EQ(node.apply(roles).status, 200);
  // A pre-period for CUPED: each unit's latency and cost the day before the start,
  // correlated with the values after it but not a copy of them.
  auto now = expd::runtime::now_micros();
  json before = json::array();
  for (int i = 0; i < 120; ++i)
    before.push_back({{"event_type", "plan_generated"}, {"unit_type", "user"}, {"unit_id", "user-" + std::to_string(i)},
                      {"timestamp", expd::core::format_rfc3339(now - 4 * 86400LL * 1000000)},
                      {"metrics", {{"latency_ms", 180 + (i * 37) % 150 / 2 + (i * 53) % 70}, {"cost_usd", 0.01 * (1 + i % 3)}}}});
  ASSERT_EQ(node.request("POST", "/v1/events", json{{"events", before}}.dump()).status, 200);
  ASSERT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.events") == "360"; }));
  json window = {{"from", expd::core::format_rfc3339(now - 5 * 86400LL * 1000000)},
                 {"to", expd::core::format_rfc3339(now + 3600LL * 1000000)}};
  ASSERT_EQ(node.request("POST", "/admin/v1/aggregate", window.dump(), true).status, 200);
  auto url = "http://127.0.0.1:" + std::to_string(node.port()) + "/dashboard";
  headless_page page;
  std::string log;
  auto dom = page.dom(url, log);
  ASSERT_EQ(dom.status, 0) << log;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom.out, m, std::regex{R"(<body[^>]*>)"})) << dom.out.substr(0, 2000);
  auto body = m.str();
  EXPECT_NE(body.find("data-state=\"ready\""), std::string::npos) << body << "\n" << log;
  EXPECT_EQ(body.find("data-errors"), std::string::npos) << body;
  EXPECT_NE(body.find("data-blank-charts=\"0\""), std::string::npos) << body;
  std::smatch charts;
  ASSERT_TRUE(std::regex_search(body, charts, std::regex{R"re(data-charts="(\d+)")re"})) << body;
  // The overview, per metric an interval and a lift chart (3 metrics), latency and cost,
  // and trends of 3 metrics.
  EXPECT_GE(std::stoi(charts[1]), 1 + 3 * 2 + 2 + 3) << body;
  EXPECT_EQ(dom.out.find("SAMPLE RATIO MISMATCH"), std::string::npos);
  // Metrics grouped by role, titled with their direction; SRM observed against expected.
  for (auto text : {">Goal metrics<", ">Guardrails<", ">Other metrics (not named in the experiment)<",
                    "lower is better, margin 10.00%", "observed / expected", ">chance to be better<", ">verdict<"})
    EXPECT_NE(dom.out.find(text), std::string::npos) << text;
  EXPECT_LT(dom.out.find(">Goal metrics<"), dom.out.find(">Guardrails<"));
  EXPECT_NE(dom.out.find("class=\"srm-ok\""), std::string::npos);
  EXPECT_NE(dom.out.find("CUPED (variance -"), std::string::npos) << "no CUPED row";
  // Console errors reach Chromium's log as CONSOLE lines.
  std::istringstream lines{log};
  for (std::string line; std::getline(lines, line);)
    if (line.find("CONSOLE") != std::string::npos)
      ADD_FAILURE() << "console: " << line;

  auto shot = build_dir() + "/dashboard-screenshot.png";
  std::filesystem::remove(shot);
  auto pic = run_command(page.command + "--screenshot=" + shot + " " + url + " 2>/dev/null");
  EXPECT_EQ(pic.status, 0);
  ASSERT_TRUE(std::filesystem::exists(shot));
  EXPECT_GT(std::filesystem::file_size(shot), 20000u);
  std::printf("dashboard screenshot: %s\n", shot.c_str());
}
