// An event that credits a variant its unit was not assigned is left out of the
// aggregates, counted per variant and shown in results as a warning; a unit that was
// never assigned cannot be checked and counts.
#include <gtest/gtest.h>

#include <map>

#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/event_helpers.hpp"

using namespace expd;
using namespace expd::testing;
using nlohmann::json;

namespace {

json crediting(const ids& x, const std::string& unit, const std::string& variant, double latency) {
  auto e = event(x, unit, latency);
  e["experiments"] = json::array({{{"experiment_id", x.experiment}, {"variant_id", variant}}});
  return e;
}

// Assigns 30 units, sends each one event crediting its own variant, ten of them one more
// crediting the other variant (latency 5000), and an unassigned unit one event; then
// aggregates. `kept`: the forged events count in the sums (--aggregate-unheld=include).
void run_and_check(bool kept) {
  scratch_database db;
  expd_process node{db, kept ? std::vector<std::string>{"--aggregate-unheld=include"}
                             : std::vector<std::string>{}};
  auto x = prepare(node);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  std::map<std::string, std::string> held; // unit -> variant id
  for (int i = 0; i < 30; ++i) {
    auto unit = "u" + std::to_string(i);
    auto reply = node.assign({{"unit_type", "user"}, {"unit_id", unit},
                              {"requested_experiments", {"planner_policy_exp"}}});
    ASSERT_EQ(reply.status, 200);
    held[unit] = reply.json()["assignments"][0]["variant_id"];
  }
  // What the aggregates must show: each unit's own event, the stranger's, none forged.
  std::map<std::string, double> sum;          // variant -> sum of latency_ms
  std::map<std::string, std::uint64_t> forged; // variant credited -> forged events
  json batch = {{"events", json::array()}};
  int i = 0;
  for (auto& [unit, variant] : held) {
    batch["events"].push_back(crediting(x, unit, variant, 100 + i));
    sum[variant] += 100 + i;
    if (i++ < 10) { // and one crediting the variant it does not hold
      auto other = variant == x.control ? x.other : x.control;
      batch["events"].push_back(crediting(x, unit, other, 5000));
      ++forged[other];
      if (kept)
        sum[other] += 5000;
    }
  }
  batch["events"].push_back(crediting(x, "stranger", x.control, 7)); // never assigned
  sum[x.control] += 7;
  ASSERT_EQ(post(node, batch).status, 200);
  ASSERT_TRUE(eventually([&] { return stored(db) == "41"; })) << stored(db);
  // The pass checks claims against exp.assignments, which is written behind the replies.
  ASSERT_TRUE(eventually([&] { return db.scalar("SELECT count(*) FROM exp.assignments") == "30"; }));

  auto now = runtime::now_micros();
  auto pass = node.request("POST", "/admin/v1/aggregate",
                           json{{"from", core::format_rfc3339(now - 3600LL * 1000000)},
                                {"to", core::format_rfc3339(now + 3600LL * 1000000)}}
                             .dump(),
                           true);
  ASSERT_EQ(pass.status, 200) << pass.body;
  EXPECT_EQ(pass.json()["unheld_events"], 10) << pass.body;

  for (auto& variant : {x.control, x.other}) {
    EXPECT_EQ(db.scalar("SELECT sum FROM exp.metric_aggregates WHERE granularity = 'experiment'"
                        " AND metric_name = 'latency_ms' AND variant_id = '" + variant + "'"),
              std::to_string(static_cast<int>(sum[variant])))
      << variant;
    EXPECT_EQ(db.scalar("SELECT unheld_events FROM exp.variant_data_quality WHERE variant_id = '"
                        + variant + "'"),
              std::to_string(forged[variant]));
  }
  auto results = node.request("GET", "/v1/experiments/" + x.experiment + "/results").json();
  EXPECT_EQ(results["data_quality"]["unheld_events"], 10) << results.dump();
  std::uint64_t listed = 0;
  for (auto& v : results["variants"])
    listed += v["unheld_events"].get<std::uint64_t>();
  EXPECT_EQ(listed, 10u);
  bool warned = false;
  for (auto& w : results["warnings"])
    warned = warned || w.get<std::string>().find("10 events credit a variant") != std::string::npos;
  EXPECT_TRUE(warned) << results["warnings"].dump();

  // A rerun counts the same, not twice.
  pass = node.request("POST", "/admin/v1/aggregate",
                      json{{"from", core::format_rfc3339(now - 3600LL * 1000000)},
                           {"to", core::format_rfc3339(now + 3600LL * 1000000)}}
                        .dump(),
                      true);
  EXPECT_EQ(db.scalar("SELECT sum(unheld_events) FROM exp.variant_data_quality"), "10");
}

} // namespace

TEST(unheld_variant, claims_of_a_variant_the_unit_does_not_hold_are_left_out_and_counted) {
  run_and_check(false);
}

TEST(unheld_variant, with_aggregate_unheld_include_they_are_counted_and_kept) {
  run_and_check(true);
}
