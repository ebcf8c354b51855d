// The node dies at each failpoint between an event's acknowledgement and its place in
// the archive, and its flags change between runs: nothing acknowledged is lost,
// nothing is stored or archived twice, and work left from before resumes by itself.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "runtime/random_uuid.hpp"
#include "tests/integration/event_helpers.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

// The value of an unlabelled sample in /metrics; -1 when absent.
double metric(const expd_process& node, const std::string& name) {
  auto text = node.request("GET", "/metrics").body;
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

struct client_run {
  std::vector<json> sent;
  std::set<std::string> acked;
};

// Sends batches of `per_batch` events with client ids, one request at a time, until
// one is not acknowledged or `batches` were sent.
void send_until_refused(const expd_process& node, const ids& x, client_run& run, int batches,
                        int per_batch = 20) {
  for (int i = 0; i < batches; ++i) {
    json body = {{"events", json::array()}};
    for (int j = 0; j < per_batch; ++j) {
      auto e = event(x, "u" + std::to_string(run.sent.size() % 97));
      e["event_id"] = expd::runtime::random_uuid().str();
      run.sent.push_back(e);
      body["events"].push_back(e);
    }
    if (post(node, body).status != 200)
      return;
    for (auto& e : body["events"])
      run.acked.insert(e["event_id"].get<std::string>());
  }
}

// Acknowledged events are all stored, each once; what was never acknowledged is sent
// again by the client, and then the table holds everything sent, once, and so does
// the archive.
void expect_nothing_lost_or_doubled(expd_process& node, const scratch_database& db,
                                    client_run& run) {
  ASSERT_TRUE(eventually([&] { return std::stoul(stored(db)) >= run.acked.size(); }))
    << stored(db) << " stored of " << run.acked.size() << " acknowledged";
  auto rows = table(db);
  for (auto& id : run.acked)
    ASSERT_EQ(rows.count(id), 1u) << "acknowledged, not stored: " << id;
  for (auto& e : run.sent)
    if (run.acked.count(e["event_id"]) == 0) {
      ASSERT_EQ(post(node, e).status, 200);
    }
  ASSERT_TRUE(eventually([&] { return stored(db) == std::to_string(run.sent.size()); }))
    << stored(db) << " of " << run.sent.size();
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM exp.events"),
            std::to_string(run.sent.size()));
  auto store = expd::runtime::open_object_store(node.archive_dir());
  expect_archive_equals_table(*store, spool_id(node), db);
}

class killed_at : public ::testing::TestWithParam<std::string> {};

} // namespace

// Each point fires on its third pass: after some commits, loads or chunks went well.
TEST_P(killed_at, a_failpoint_loses_and_doubles_nothing) {
  scratch_database db;
  std::vector<std::string> flags{"--archive-interval-ms=50", "--archive-max-events=40"};
  auto armed = flags;
  armed.push_back("--failpoints=" + GetParam() + "@3");
  expd_process node{db, armed};
  auto x = prepare(node);
  client_run run;
  send_until_refused(node, x, run, 200);
  int status = 0;
  ASSERT_TRUE(node.wait_exit(std::chrono::seconds{20}, &status))
    << GetParam() << " was not reached in " << run.sent.size() << " events";
  EXPECT_EQ(status, 128 + SIGKILL);
  EXPECT_NE(read_file(node.log_path()).find("\"failpoint\":\"" + GetParam() + "\""),
            std::string::npos);
  node.set_flags(flags);
  node.start();
  expect_nothing_lost_or_doubled(node, db, run);
}

INSTANTIATE_TEST_SUITE_P(event_path, killed_at,
                         ::testing::Values("spool.after_write", "spool.after_sync",
                                           "loader.before_commit", "loader.after_commit",
                                           "archiver.after_intent", "archiver.after_data",
                                           "archiver.after_manifest"),
                         [](const auto& info) {
                           auto name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

TEST(crash_recovery, a_misspelt_failpoint_stops_the_node_at_start) {
  scratch_database db;
  EXPECT_THROW(expd_process(db, {"--failpoints=spool.after_sink"}), std::runtime_error);
}

// A smaller --spool-max-mb makes smaller segments; the one written before keeps its
// size, and numbering goes on after its last record (events were lost here when
// recovery read it with the new size and numbered new events as already loaded).
TEST(crash_recovery, a_smaller_spool_after_a_clean_restart_loses_nothing) {
  scratch_database db;
  expd_process node{db, {"--spool-max-mb=64", "--archive-interval-ms=100"}};
  auto x = prepare(node);
  client_run run;
  send_until_refused(node, x, run, 10, 500); // ~3 MB: past a 1 MiB segment
  ASSERT_EQ(run.acked.size(), 5000u);
  ASSERT_TRUE(eventually([&] { return stored(db) == "5000"; })) << stored(db);
  ASSERT_EQ(node.stop(), 0);
  node.set_flags({"--spool-max-mb=8", "--archive-interval-ms=100"}); // 1 MiB segments
  node.start();
  // The old 8 MiB segment fills the new limit until the loader and the archiver say
  // they are past it (503 spool_full meanwhile).
  ASSERT_TRUE(eventually([&] {
    return metric(node, "expd_spool_bytes") < metric(node, "expd_spool_max_bytes");
  })) << node.request("GET", "/metrics").body;
  send_until_refused(node, x, run, 4, 500);
  ASSERT_EQ(run.acked.size(), 7000u);
  expect_nothing_lost_or_doubled(node, db, run);
  ASSERT_EQ(node.stop(), 0);
  node.set_flags({"--spool-max-mb=256", "--archive-interval-ms=100"});
  node.start();
  send_until_refused(node, x, run, 2, 500);
  expect_nothing_lost_or_doubled(node, db, run);
}

// Events loaded but not archived when the node stopped: right after the next start
// the gauges say so, and the archiver takes them up without waiting for a new event.
TEST(crash_recovery, work_left_before_a_restart_resumes_and_the_gauges_are_true) {
  scratch_database db;
  std::vector<std::string> hold{"--archive-interval-ms=600000", "--archive-max-events=100000"};
  expd_process node{db, hold};
  auto x = prepare(node);
  client_run run;
  send_until_refused(node, x, run, 15);
  ASSERT_EQ(run.acked.size(), 300u);
  ASSERT_TRUE(eventually([&] { return stored(db) == "300"; })) << stored(db);
  node.kill();
  node.start();
  EXPECT_TRUE(eventually([&] {
    return metric(node, "expd_spool_unloaded_events") == 0
           && metric(node, "expd_archive_lag_events") == 300
           && metric(node, "expd_spool_unarchived_events") == 300;
  })) << node.request("GET", "/metrics").body;
  node.stop();
  node.set_flags({"--archive-interval-ms=100"});
  node.start();
  auto store = expd::runtime::open_object_store(node.archive_dir());
  expect_archive_equals_table(*store, spool_id(node), db);
  EXPECT_TRUE(eventually([&] {
    return metric(node, "expd_archive_lag_events") == 0
           && metric(node, "expd_spool_unarchived_events") == 0;
  })) << node.request("GET", "/metrics").body;
}

// The writer dies right after a batch of assignments is committed, before its queue
// and the shards' journals know: the journals replayed at the next start write those
// rows again (an idempotent upsert) and the rest, and no unit changes variant.
TEST(crash_recovery, killed_after_an_assignment_commit_no_unit_is_lost_or_flips) {
  scratch_database db;
  expd_process node{db, {"--failpoints=writer.after_commit@2", "--writer-batch=100",
                         "--writer-interval-ms=10"}};
  ASSERT_EQ(node.apply(spec_example()).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  std::map<std::string, std::string> served;
  for (int i = 0; i < 3000 && node.running(); ++i) {
    auto unit = "w" + std::to_string(i);
    auto reply = node.assign({{"unit_type", "user"}, {"unit_id", unit},
                              {"requested_experiments", {"planner_policy_exp"}}});
    if (reply.status != 200)
      break;
    served[unit] = reply.json()["assignments"][0]["variant_name"];
  }
  int status = 0;
  ASSERT_TRUE(node.wait_exit(std::chrono::seconds{10}, &status)) << "the failpoint was not reached";
  EXPECT_EQ(status, 128 + SIGKILL);
  ASSERT_GT(served.size(), 100u);
  node.set_flags({});
  node.start();
  // Every unit served is stored; one more may be, journaled before its reply was lost.
  auto stored = db.scalar("SELECT string_agg(unit_id, ',') FROM exp.assignments");
  std::set<std::string> stored_units;
  for (std::size_t at = 0; at <= stored.size();) {
    auto comma = std::min(stored.find(',', at), stored.size());
    stored_units.insert(stored.substr(at, comma - at));
    at = comma + 1;
  }
  for (auto& [unit, _] : served)
    EXPECT_EQ(stored_units.count(unit), 1u) << unit;
  ASSERT_EQ(node.apply(spec_example(0.2, 0.8)).status, 200);
  int flips = 0;
  for (auto& [unit, variant] : served) {
    auto reply = node.assign({{"unit_type", "user"}, {"unit_id", unit},
                              {"requested_experiments", {"planner_policy_exp"}}});
    flips += reply.json()["assignments"][0]["variant_name"] != variant;
  }
  EXPECT_EQ(flips, 0);
}
